"""Grading pages: the distribution of customers by class, class changes, rule versions (draft, preview, submit)
and on-demand runs. Thin: every action is a ``grading.services`` call."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.views.decorators.http import require_POST

from pharmacrm.core import policy
from pharmacrm.core.audit import StaleVersion
from pharmacrm.core.exports import export_table
from pharmacrm.core.filters import StyledFilterSet
from pharmacrm.core.forms import StyledFormMixin, add_service_errors
from pharmacrm.core.generic import ScopedDetailView, ScopedListView, get_visible_or_404, refused, require
from pharmacrm.core.workflow import TransitionNotAllowed
from pharmacrm.customers.choices import InstitutionKind
from pharmacrm.customers.models import Institution
from pharmacrm.grading import engine, explain, rules, services
from pharmacrm.grading.choices import (
    CLASSES,
    ChangeReason,
    Dimension,
    Grade,
    StrategyDimension,
    VersionStatus,
    class_label,
)
from pharmacrm.grading.models import (
    Classification,
    GradeChange,
    GradingRun,
    RuleVersion,
    Strategy,
    ordered_strategies,
    strategies_for,
)
from pharmacrm.org.models import Division

REFUSALS = (ValidationError, TransitionNotAllowed, StaleVersion)


#: how many provinces the overview's region table lists (the biggest by customers)
REGION_ROWS = 12


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    """How the customers the user may see fall into each class, customer type and province, the movements of the
    last runs, the rules in force. One pass over the visible classes for the four computed dimensions, one
    joined to the customers for their types and provinces.

    ``?format=csv&table=classes|regions|movements`` exports one of the page's tables (every province, not only
    the biggest), audited, for users who may export customers."""
    require(request, "grading.view_classification")
    visible = Classification.objects.visible_to(request.user)
    if request.GET.get("format") == "csv":
        return _export_overview(request, visible)
    strategies = {(row.dimension, row.klass): row for row in Strategy.objects.visible_to(request.user)}
    regions, kinds = _by_customer(visible)
    dimensions, total = _distribution(visible, kinds)
    for dimension in dimensions:
        for bar in dimension["bars"]:
            bar["strategy"] = strategies.get((dimension["value"], bar["value"]))
    return render(request, "grading/overview.html", {
        "total": total, "dimensions": dimensions, "regions": regions[:REGION_ROWS],
        "movements": _movements(request.user), "runs": GradingRun.objects.visible_to(request.user)[:5],
        "in_force": _in_force(), "candidates": visible.filter(ka_rank__isnull=False).count(),
        "grade_choices": Grade.choices, "dimension_choices": Dimension.choices,
        "can_run": request.user.has_perm("grading.run_grading"), "can_export": _can_export(request.user)})


def _can_export(user: Any) -> bool:
    return user.has_perm("customers.export_institution")


def _distribution(visible: Any, kinds: dict[str, int]) -> tuple[list[dict[str, Any]], int]:
    """Per dimension — and per customer type (``kinds``: counts by type) — each class with its count and
    share of the visible customers; and their total."""
    counts: dict[str, dict[str, int]] = {dimension: {} for dimension in CLASSES}
    for size, tenure, depth, grade, n in (visible.order_by().values_list("size", "tenure", "depth", "grade")
                                          .annotate(n=Count("pk"))):
        for dimension, value in zip(CLASSES, (size, tenure, depth, grade), strict=True):
            counts[dimension][value] = counts[dimension].get(value, 0) + n
    counts[StrategyDimension.CUSTOMER_TYPE] = kinds
    total = sum(counts[Dimension.GRADE].values())
    dimensions = []
    for dimension, choices in [*CLASSES.items(), (StrategyDimension.CUSTOMER_TYPE, InstitutionKind)]:
        bars = [{"value": value, "label": label, "count": counts[dimension].get(value, 0),
                 "percent": round(100 * counts[dimension].get(value, 0) / total, 1) if total else 0}
                for value, label in choices.choices
                if dimension != StrategyDimension.CUSTOMER_TYPE or counts[dimension].get(value)]
        dimensions.append({"value": dimension, "label": StrategyDimension(dimension).label, "bars": bars,
                           "filter": "kind" if dimension == StrategyDimension.CUSTOMER_TYPE else dimension})
    return dimensions, total


def _export_overview(request: HttpRequest, visible: Any) -> HttpResponse:
    if not _can_export(request.user):
        raise PermissionDenied
    table = request.GET.get("table", "classes")
    grades = [label for _value, label in Grade.choices]
    if table == "classes":
        header: list[Any] = [_("Dimension"), _("Class"), _("Customers"), _("Percent")]
        rows: list[list[Any]] = [[dimension["label"], bar["label"], bar["count"], bar["percent"]]
                                 for dimension in _distribution(visible, _by_customer(visible)[1])[0]
                                 for bar in dimension["bars"]]
    elif table == "regions":
        header = [_("Province code"), _("Province"), _("Customers"), *grades]
        rows = [[region["code"], region["name"], region["total"], *region["grades"]]
                for region in _by_customer(visible)[0]]
    elif table == "movements":
        header = [_("Run"), _("As of"), *[label for _value, label in Dimension.choices]]
        rows = [[movement["run"].pk, movement["run"].as_of.isoformat(), *movement["counts"]]
                for movement in _movements(request.user)]
    else:
        return HttpResponse(_("Unknown table: choose classes, regions or movements."), status=400,
                            content_type="text/plain; charset=utf-8")
    return export_table(actor=request.user, model=Classification._meta.label, header=header, rows=rows,
                        name=f"grading-{table}", filters={"table": table})


def _in_force() -> list[RuleVersion]:
    try:
        return list(engine.in_force(policy.today()).values())
    except LookupError:
        return []


def _by_customer(visible: Any) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """From the customers' master, in one pass: grades by province (the biggest provinces first, all of
    them) and counts by customer type."""
    by_province: dict[str, dict[str, int]] = {}
    kinds: dict[str, int] = {}
    for province, kind, grade, n in (visible.order_by()
                                     .values_list("institution__province_code", "institution__kind", "grade")
                                     .annotate(n=Count("pk"))):
        grades = by_province.setdefault(province, {})
        grades[grade] = grades.get(grade, 0) + n
        kinds[kind] = kinds.get(kind, 0) + n
    names = dict(Division.objects.filter(code__in=by_province).values_list("code", "name"))
    rows = [{"code": code, "name": names.get(code, code), "total": sum(grades.values()),
             "grades": [grades.get(value, 0) for value in Grade.values]} for code, grades in by_province.items()]
    return sorted(rows, key=lambda row: (-row["total"], row["code"])), kinds


def _movements(user: Any) -> list[dict[str, Any]]:
    """Per recent run, how many of the user's customers changed class in each dimension."""
    runs = list(GradingRun.objects.visible_to(user).filter(status="done").order_by("-id")[:6])
    counts: dict[tuple[int, str], int] = {}
    for run, dimension, n in (GradeChange.objects.visible_to(user).filter(run__in=runs).order_by()
                              .values_list("run", "dimension").annotate(n=Count("pk"))):
        counts[(run, dimension)] = n
    return [{"run": run, "counts": [counts.get((run.pk, value), 0) for value in Dimension.values]} for run in runs]


@login_required
@require_POST
def run_start(request: HttpRequest) -> HttpResponse:
    require(request, "grading.run_grading")
    try:
        run = services.request_run(actor=request.user)
    except (LookupError, ValidationError) as error:
        refused(request, error)
        return redirect("grading:overview")
    messages.success(request, _("Grading run #%(run)s started: the pages show its result when it is done.")
                     % {"run": run.pk})
    return redirect("grading:overview")


# --- class changes -------------------------------------------------------------------------------------


class ChangeFilter(StyledFilterSet):
    run = django_filters.NumberFilter(label=_l("Run"), field_name="run_id")
    dimension = django_filters.ChoiceFilter(label=_l("Dimension"), choices=Dimension.choices)
    reason = django_filters.ChoiceFilter(label=_l("Reason"), choices=ChangeReason.choices)
    changed_from = django_filters.DateFilter(label=_l("From"), field_name="changed_on", lookup_expr="gte",
                                             widget=forms.DateInput(attrs={"type": "date"}))

    class Meta:
        model = GradeChange
        fields = ["run", "dimension", "reason", "changed_from"]


class ChangeListView(ScopedListView):
    """Every class that changed for the customers the user may see, newest first (movements over time)."""

    model = GradeChange
    permission_required = "grading.view_gradechange"
    template_name = "grading/change_list.html"
    filterset_class = ChangeFilter
    select_related = ("institution", "new_rule")
    sort_options = {"-id": ("-id",), "id": ("id",)}
    export_columns = ((_l("Date"), "changed_on"), (_l("Customer"), "institution.name"),
                      (_l("Dimension"), "get_dimension_display"), (_l("Old class"), "old_label"), (_l("New class"), "new_label"),
                      (_l("Reason"), "get_reason_display"))
    export_permission = "customers.export_institution"
    export_name = "grade-changes"


# --- rule versions -------------------------------------------------------------------------------------


class RuleListView(ScopedListView):
    model = RuleVersion
    permission_required = "grading.view_ruleversion"
    template_name = "grading/rule_list.html"
    select_related = ("created_by",)
    sort_options = {"dimension": ("dimension", "-number"), "-id": ("-id",)}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["dimensions"] = Dimension.choices
        context["can_draft"] = self.request.user.has_perm("grading.add_ruleversion")
        return context


def _parameter_rows(version: RuleVersion) -> list[dict[str, Any]]:
    values = version.values
    return [{"label": parameter.label, "help": parameter.help_text, "value": values[parameter.name]}
            for parameter in rules.SCHEMA[version.dimension]]


class RuleDetailView(ScopedDetailView):
    model = RuleVersion
    permission_required = "grading.view_ruleversion"
    template_name = "grading/rule_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        version = context["object"]
        moves = []
        for move in (version.preview or {}).get("moves", []):
            moves.append({**move, "old_label": class_label(version.dimension, move["old"]),
                          "new_label": class_label(version.dimension, move["new"])})
        context.update(parameters=_parameter_rows(version), moves=moves,
                       is_draft=version.status == VersionStatus.DRAFT,
                       can_change=self.request.user.has_perm("grading.change_ruleversion"))
        return context


class VersionForm(StyledFormMixin, forms.Form):
    effective_from = forms.DateField(label=_l("Effective from"),
                                     widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    note = forms.CharField(label=_l("What changes and why"), max_length=500, required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def clean_effective_from(self) -> Any:
        day = self.cleaned_data["effective_from"]
        if day < policy.today():
            raise ValidationError(_("A rule cannot take effect in the past."))
        return day


def _version_page(request: HttpRequest, dimension: str, version: RuleVersion | None) -> HttpResponse:
    source = version or engine.in_force(policy.today())[dimension]
    data = request.POST if request.method == "POST" else None
    meta = VersionForm(data, initial={"effective_from": version.effective_from if version else policy.today(),
                                      "note": version.note if version else "",
                                      "version": version.version if version else None})
    parameters = rules.parameter_form(dimension, data=data, initial=source.values)
    if request.method == "POST" and meta.is_valid() and parameters.is_valid():
        try:
            fields = {"actor": request.user, "parameters": parameters.cleaned_data,
                      "effective_from": meta.cleaned_data["effective_from"], "note": meta.cleaned_data["note"]}
            if version is None:
                version = services.draft_version(dimension=dimension, **fields)
            else:
                version = services.update_draft(version=version, expected_version=meta.cleaned_data["version"],
                                                **fields)
            messages.success(request, _("Draft saved. Preview it to see what it would change."))
            return redirect(version.get_absolute_url())
        except REFUSALS as error:
            add_service_errors(meta if "effective_from" in getattr(error, "error_dict", {}) else parameters, error)
    return render(request, "grading/rule_form.html", {
        "dimension": Dimension(dimension), "version": version, "meta": meta, "parameters": parameters},
        status=400 if (meta.errors or parameters.errors) else 200)


@login_required
def rule_create(request: HttpRequest, dimension: str) -> HttpResponse:
    require(request, "grading.add_ruleversion")
    if dimension not in Dimension.values:
        raise PermissionDenied
    return _version_page(request, dimension, None)


@login_required
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    version = get_visible_or_404(RuleVersion, request.user, pk=pk)
    require(request, "grading.change_ruleversion")
    if version.status != VersionStatus.DRAFT:
        messages.error(request, _("Only a draft can be changed."))
        return redirect(version.get_absolute_url())
    return _version_page(request, version.dimension, version)


def _act(request: HttpRequest, pk: int, service: Any, done: str) -> HttpResponse:
    version = get_visible_or_404(RuleVersion, request.user, pk=pk)
    try:
        service(actor=request.user, version=version)
        messages.success(request, done)
    except PermissionDenied:
        raise
    except REFUSALS as error:
        refused(request, error)
    return redirect(version.get_absolute_url())


@login_required
@require_POST
def rule_preview(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, services.preview_version, _("Preview updated."))


@login_required
@require_POST
def rule_submit(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, services.submit_version, _("Sent to leadership for approval."))


# --- the customer page's grading tab --------------------------------------------------------------------


@login_required
def institution_tab(request: HttpRequest, pk: int) -> HttpResponse:
    """The classes of one customer and why (loaded when the tab is opened)."""
    require(request, "grading.view_classification")
    institution = get_visible_or_404(Institution, request.user, pk=pk)
    row = (Classification.objects.visible_to(request.user).filter(institution=institution)
           .select_related("run", "size_rule", "tenure_rule", "depth_rule", "grade_rule", "ka_rule").first())
    context: dict[str, Any] = {"institution": institution, "row": row}
    if row is not None:
        money = request.user.has_perm("sales.view_purchase")
        context.update(lines=explain.explain(row, money=money), components=explain.components(row),
                       changes=(GradeChange.objects.visible_to(request.user).filter(institution=institution)
                                .select_related("new_rule")[:20]),
                       strategies=strategies_for(Strategy.objects.visible_to(request.user), row, institution.kind))
    return render(request, "grading/_institution_tab.html", context)


# --- upgrade candidates, downgrade warnings, key-account candidates (seed 000 五.3, seed 001 三.1) ----------


class WatchListView(ScopedListView):
    """Customers near a grade boundary (upgrade candidates, downgrade warnings) or on the key-account list.

    The margin and cut-offs are the grade rules in force today (``upgrade_margin``, ``premium_min``,
    ``general_min``); each upgrade candidate shows which conditions for the next grade it meets.
    """

    model = Classification
    permission_required = "grading.view_classification"
    template_name = "grading/watch_list.html"
    select_related = ("institution", "institution__owner")
    kind = "upgrade"
    export_permission = "customers.export_institution"
    export_columns = ((_l("Customer"), "institution.name"), (_l("Grade"), "get_grade_display"),
                      (_l("Grade score"), "grade_score"), (_l("Key-account score"), "ka_score"),
                      (_l("Key-account candidate rank"), "ka_rank"), (_l("Owner rep"), "institution.owner"))

    @property
    def export_name(self) -> str:
        return f"grading-{self.kind}"

    @cached_property
    def grade_parameters(self) -> dict[str, int]:
        return engine.in_force(policy.today())[Dimension.GRADE].values

    def get_queryset(self) -> Any:
        rows = super().get_queryset()
        if self.kind == "key_accounts":
            return rows.filter(ka_rank__isnull=False)
        return explain.near_boundary(rows, self.kind, self.grade_parameters)

    @property
    def sort_options(self) -> dict[str, tuple[str, ...]]:  # type: ignore[override]
        if self.kind == "key_accounts":
            return {"ka_rank": ("ka_rank",)}
        return {"-grade_score": ("-grade_score", "institution_id")} if self.kind == "upgrade" else {
            "grade_score": ("grade_score", "institution_id")}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        values = self.grade_parameters
        strategies = {row.klass: row for row in Strategy.objects.visible_to(self.request.user)
                      .filter(dimension=Dimension.GRADE)}
        for row in context["rows"]:
            row.conditions = explain.upgrade_conditions(row, values) if self.kind == "upgrade" else []
            step = explain.next_grade(row, values)
            row.next_label = class_label(Dimension.GRADE, step[0]) if step else ""
            row.strategy = strategies.get(row.grade)
        context.update(kind=self.kind, margin=values["upgrade_margin"])
        return context


# --- the strategy table ----------------------------------------------------------------------------------


class StrategyForm(StyledFormMixin, forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Strategy
        fields = ["visit_every_days", "contacts_per_month", "service_package", "content_cadence"]
        widgets = {"service_package": forms.Textarea(attrs={"rows": 2})}


@login_required
def strategy_list(request: HttpRequest) -> HttpResponse:
    """What each class calls for (read by visit planning and service); marketing edits a row in place."""
    require(request, "grading.view_strategy")
    can_edit = request.user.has_perm("grading.change_strategy")
    rows = ordered_strategies(Strategy.objects.visible_to(request.user))
    failed: dict[int, Any] = {}
    if request.method == "POST":
        require(request, "grading.change_strategy")
        strategy = get_visible_or_404(Strategy, request.user, pk=request.POST.get("strategy"))
        form = StrategyForm(request.POST, instance=strategy, auto_id=f"id_%s-{strategy.pk}")
        if form.is_valid():
            changes = {name: form.cleaned_data[name] for name in StrategyForm.Meta.fields}
            try:
                services.update_strategy(actor=request.user, strategy=strategy, changes=changes,
                                         expected_version=form.cleaned_data["version"])
                messages.success(request, _("Strategy saved."))
                return redirect("grading:strategy_list")
            except REFUSALS as error:
                add_service_errors(form, error)
        failed[strategy.pk] = form
    for row in rows:
        row.form = failed.get(row.pk) or (StrategyForm(instance=row, initial={"version": row.version},
                                                       auto_id=f"id_%s-{row.pk}") if can_edit else None)
    return render(request, "grading/strategy_list.html", {"rows": rows, "can_edit": can_edit},
                  status=400 if failed else 200)
