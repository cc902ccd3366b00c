"""Settings pages for admins: policy parameters and the working-day calendar table.

Thin views: input shapes here, writes in ``core.policy`` and ``core.workcalendar``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

import django_filters
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from pharmacrm.core import policy, workcalendar
from pharmacrm.core.audit import StaleVersion
from pharmacrm.core.filters import StyledFilterSet
from pharmacrm.core.forms import StyledFormMixin, add_service_errors
from pharmacrm.core.generic import ScopedListView, get_visible_or_404
from pharmacrm.core.models import CalendarDay

POLICY_PERMISSION = "core.change_policyvalue"
CALENDAR_PERMISSION = "core.change_calendarday"

View = Callable[..., HttpResponse]


def permission_required(permission: str) -> Callable[[View], View]:
    """Signed-in users without the permission get 403 (not a login loop)."""

    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.has_perm(permission):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def _settings_tabs(user: Any) -> list[dict[str, Any]]:
    tabs = []
    if user.has_perm(POLICY_PERMISSION):
        tabs.append({"name": "policy", "label": _("Policy parameters"), "url_name": "core:policy_list"})
    if user.has_perm(CALENDAR_PERMISSION):
        tabs.append({"name": "calendar", "label": _("Working-day calendar"), "url_name": "core:calendarday_list"})
    return tabs


# --- policy parameters ---------------------------------------------------------------------


class PolicyValueForm(StyledFormMixin, forms.Form):
    """Value (the parameter's own field, added by ``policy_value_form``), start day, and why."""

    field_order = ["value", "effective_from", "reason"]

    effective_from = forms.DateField(label=gettext_lazy("Effective from"),
                                     widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=policy.MAX_REASON_LENGTH,
                             widget=forms.Textarea(attrs={"rows": 2}))


def policy_value_form(param: policy.Param) -> type[PolicyValueForm]:
    """The edit form of one parameter: its declared field becomes ``value``."""
    return type(f"PolicyValueForm_{param.key}", (PolicyValueForm,), {"value": param.form_field()})


@permission_required(POLICY_PERMISSION)
def policy_list(request: HttpRequest) -> HttpResponse:
    """Every declared parameter: value in force, default, next scheduled value, history."""
    return render(request, "core/policy_list.html", {
        "statuses": policy.statuses(), "today": policy.today(), "tabs": _settings_tabs(request.user),
        "active_tab": "policy",
    })


@permission_required(POLICY_PERMISSION)
def policy_edit(request: HttpRequest, key: str) -> HttpResponse:
    """Schedule a new value; the service checks it and audits it."""
    try:
        param = policy.param(key)
    except KeyError as exc:
        raise Http404 from exc
    initial = {"value": policy.get(key), "effective_from": policy.today()}
    form = policy_value_form(param)(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            policy.set_value(actor=request.user, key=key, value=form.cleaned_data["value"],
                             effective_from=form.cleaned_data["effective_from"], reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("core:policy_list")
    return render(request, "core/policy_form.html", {
        "form": form, "param": param, "current": policy.get(key), "tabs": _settings_tabs(request.user),
        "active_tab": "policy",
    }, status=400 if form.errors else 200)


# --- working-day calendar table ----------------------------------------------------------------


class CalendarDayFilter(StyledFilterSet):
    year = django_filters.NumberFilter(label=gettext_lazy("Year"), field_name="date", lookup_expr="year",
                                       min_value=1900, max_value=9999)

    class Meta:
        model = CalendarDay
        fields = ["year"]


class CalendarDayListView(ScopedListView):
    """The admin table that overrides the package's calendar (DESIGN.md Working days)."""

    model = CalendarDay
    permission_required = CALENDAR_PERMISSION
    template_name = "core/calendarday_list.html"
    filterset_class = CalendarDayFilter
    sort_options: dict[str, tuple[str, ...]] = {}  # by date (Meta.ordering); no sort menu needed
    page_size = 50

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(tabs=_settings_tabs(self.request.user), active_tab="calendar")
        return context


DAY_KIND_CHOICES = [("holiday", gettext_lazy("Holiday (no work)")),
                    ("working", gettext_lazy("Make-up working day"))]


class CalendarDayForm(StyledFormMixin, forms.Form):
    date = forms.DateField(label=gettext_lazy("Date"), widget=forms.DateInput(attrs={"type": "date"},
                                                                              format="%Y-%m-%d"))
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=DAY_KIND_CHOICES)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100, required=False,
                           help_text=gettext_lazy("For example 国庆节 or 国庆调休."))
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=policy.MAX_REASON_LENGTH, required=False,
                             widget=forms.Textarea(attrs={"rows": 2}))
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class CalendarDayDeleteForm(StyledFormMixin, forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason for deleting"), max_length=policy.MAX_REASON_LENGTH)


def _calendarday_form_page(request: HttpRequest, form: CalendarDayForm, obj: CalendarDay | None,
                           delete_form: CalendarDayDeleteForm | None = None, status: int = 200) -> HttpResponse:
    return render(request, "core/calendarday_form.html", {
        "form": form, "object": obj, "delete_form": delete_form if obj is not None else None,
        "tabs": _settings_tabs(request.user), "active_tab": "calendar",
    }, status=status)


@permission_required(CALENDAR_PERMISSION)
def calendarday_create(request: HttpRequest) -> HttpResponse:
    form = CalendarDayForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            workcalendar.create_calendar_day(actor=request.user, date=data["date"],
                                             is_working_day=data["kind"] == "working", name=data["name"],
                                             reason=data["reason"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect(f"{_list_url()}?year={data['date'].year}")
    return _calendarday_form_page(request, form, None, status=400 if form.errors else 200)


@permission_required(CALENDAR_PERMISSION)
def calendarday_edit(request: HttpRequest, pk: int) -> HttpResponse:
    obj = get_visible_or_404(CalendarDay, request.user, pk=pk)
    initial = {"date": obj.date, "kind": "working" if obj.is_working_day else "holiday", "name": obj.name,
               "version": obj.version}
    form = CalendarDayForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            workcalendar.update_calendar_day(
                actor=request.user, calendar_day=obj, reason=data["reason"], expected_version=data["version"],
                changes={"date": data["date"], "is_working_day": data["kind"] == "working", "name": data["name"]})
        except (StaleVersion, ValidationError) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect(f"{_list_url()}?year={data['date'].year}")
    return _calendarday_form_page(request, form, obj, CalendarDayDeleteForm(),
                                  status=400 if form.errors else 200)


@permission_required(CALENDAR_PERMISSION)
@require_POST
def calendarday_delete(request: HttpRequest, pk: int) -> HttpResponse:
    obj = get_visible_or_404(CalendarDay, request.user, pk=pk)
    delete_form = CalendarDayDeleteForm(request.POST)
    if delete_form.is_valid():
        try:
            workcalendar.delete_calendar_day(actor=request.user, calendar_day=obj,
                                             reason=delete_form.cleaned_data["reason"])
        except ValidationError as exc:
            add_service_errors(delete_form, exc)
        else:
            messages.success(request, _("Deleted."))
            return redirect(f"{_list_url()}?year={obj.date.year}")
    initial = {"date": obj.date, "kind": "working" if obj.is_working_day else "holiday", "name": obj.name,
               "version": obj.version}
    return _calendarday_form_page(request, CalendarDayForm(initial=initial), obj, delete_form, status=400)


def _list_url() -> str:
    return reverse("core:calendarday_list")
