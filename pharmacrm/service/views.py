"""Service desk pages: the queue (running deadlines of the user's cases, the team's for a manager), breaches and
near-breaches, the case list, logging a case, and the case page where it is worked. Thin: reads through
``visible_to``, writes through ``service.services``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.views.decorators.http import require_POST

from pharmacrm.core import signatures
from pharmacrm.core.audit import StaleVersion
from pharmacrm.core.generic import ScopedListView, get_visible_or_404, refused, require, service_error
from pharmacrm.core.models import StoredFile
from pharmacrm.core.workflow import TransitionNotAllowed
from pharmacrm.customers.models import Contact, Institution
from pharmacrm.engagement.models import Visit
from pharmacrm.org.models import User
from pharmacrm.org.querysets import users_in_scope
from pharmacrm.sales.choices import ProductStatus
from pharmacrm.sales.models import Order, Product
from pharmacrm.service import archive, clocks, services
from pharmacrm.service.choices import ROOT_CAUSE_KINDS, CaseStatus
from pharmacrm.service.filters import CaseFilter
from pharmacrm.service.forms import (
    CaseForm,
    CaseSignForm,
    MoveForm,
    NoteForm,
    PvForm,
    PvReportForm,
    ReassignForm,
    RuleForm,
)
from pharmacrm.service.models import AssignmentRule, Case, SlaClock

REFUSALS = (ValidationError, TransitionNotAllowed, StaleVersion, PermissionDenied)
#: the rows a queue or breach page shows (the soonest due first)
QUEUE_ROWS = 100
#: what each status may move to from the case page, in the order the buttons show
NEXT_STEPS = {
    CaseStatus.ACKNOWLEDGED: (CaseStatus.INVESTIGATING, CaseStatus.PROPOSED, CaseStatus.RESOLVED),
    CaseStatus.INVESTIGATING: (CaseStatus.PROPOSED, CaseStatus.RESOLVED),
    CaseStatus.PROPOSED: (CaseStatus.RESOLVED, CaseStatus.INVESTIGATING),
    CaseStatus.RESOLVED: (CaseStatus.CONFIRMED, CaseStatus.INVESTIGATING),
    CaseStatus.CONFIRMED: (CaseStatus.FOLLOWED_UP, CaseStatus.CLOSED, CaseStatus.INVESTIGATING),
    CaseStatus.FOLLOWED_UP: (CaseStatus.CLOSED, CaseStatus.INVESTIGATING),
    CaseStatus.CLOSED: (CaseStatus.INVESTIGATING,),
}
#: the buttons' words for each step
STEP_LABELS = {CaseStatus.INVESTIGATING: _l("Investigate"), CaseStatus.PROPOSED: _l("Propose the solution"),
               CaseStatus.RESOLVED: _l("Resolved"), CaseStatus.CONFIRMED: _l("The customer confirmed"),
               CaseStatus.FOLLOWED_UP: _l("Follow-up visit done"), CaseStatus.CLOSED: _l("Close")}
REOPENED_FROM = (CaseStatus.RESOLVED, CaseStatus.CONFIRMED, CaseStatus.FOLLOWED_UP, CaseStatus.CLOSED)


def _owners(request: HttpRequest) -> Any:
    """Whose deadlines the queue shows: the user's own; a manager's team; head office everyone's."""
    return users_in_scope(request.user).values("pk")


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    """Running deadlines of the cases owned by the user (a manager: the team), soonest first."""
    # a clock's owner is its case's owner (reassigning moves the running clocks), and cases owned by the people in
    # the user's scope are visible to them (``case_condition``): no case-scope join, so the database walks the
    # owners' running-clock index (PostgreSQL otherwise scanned every case: 344 ms at 2M cases)
    require(request, "service.view_case")
    mine = request.GET.get("mine") == "1"
    owners = [request.user.pk] if mine else _owners(request)
    rows = (SlaClock.objects.running().filter(owner__in=owners)
            .select_related("case__institution", "owner").order_by("due_at", "id")[:QUEUE_ROWS])
    return render(request, "service/queue.html", {"rows": rows, "now": timezone.now(), "tab": "queue", "mine": mine})


@login_required
def breaches(request: HttpRequest) -> HttpResponse:
    """Deadlines missed (or, ``?near=1``, due within ``service.warn_before_hours``), in the user's scope."""
    require(request, "service.view_case")
    near = request.GET.get("near") == "1"
    rows = (clocks.breaches(SlaClock.objects.visible_to(request.user), near=near)
            .select_related("case__institution", "owner")[:QUEUE_ROWS])
    return render(request, "service/breaches.html", {"rows": rows, "near": near, "now": timezone.now(),
                                                     "tab": "near" if near else "breaches"})


class CaseListView(ScopedListView):
    model = Case
    permission_required = "service.view_case"
    template_name = "service/case_list.html"
    filterset_class = CaseFilter
    select_related = ("institution", "owner")
    sort_options = {"-received_at": ("-received_at", "-id"), "received_at": ("received_at", "id")}
    sort_labels = {"-received_at": _l("Latest first"), "received_at": _l("Oldest first")}
    export_permission = "service.work_case"
    export_name = "cases"
    # no descriptions or notes: they may hold patient details (sensitive personal data)
    export_columns = ((_l("Case"), "number"), (_l("Received at"), "received_at"), (_l("Customer"), "institution.name"),
                      (_l("Kind"), "get_kind_display"), (_l("Severity"), "get_severity_display"),
                      (_l("Status"), "get_status_display"), (_l("Owner"), "owner.username"),
                      (_l("Product"), "product"), (_l("Batch number"), "batch_number"),
                      (_l("Root cause"), "get_root_cause_display"), (_l("First response at"), "acknowledged_at"),
                      (_l("Resolved at"), "resolved_at"), (_l("Escalation"), "escalation"))
    export_select_related = ("product",)


def _case_form(request: HttpRequest, institution: Institution) -> CaseForm:
    contacts = Contact.objects.visible_to(request.user).working_at(institution).order_by("name", "id")
    products = Product.objects.filter(status=ProductStatus.ACTIVE).order_by("code")
    orders = Order.objects.visible_to(request.user).filter(institution=institution).order_by("-id")[:100]
    return CaseForm(request.POST or None, request.FILES or None, contacts=contacts, products=products,
                    orders=Order.objects.filter(pk__in=[order.pk for order in orders]))


@login_required
def case_create(request: HttpRequest) -> HttpResponse:
    """Log a case for a customer (``?institution=``; ``&visit=`` when raised at a visit)."""
    require(request, "service.add_case")
    institution = get_visible_or_404(Institution, request.user, pk=request.GET.get("institution") or 0)
    visit = None
    if str(request.GET.get("visit", "")).isdigit():
        visit = get_visible_or_404(Visit, request.user, pk=request.GET["visit"], institution=institution)
    form = _case_form(request, institution)
    if request.method == "POST" and form.is_valid():
        try:
            case = services.open_case(actor=request.user, institution=institution, visit=visit, **form.cleaned_data)
        except REFUSALS as error:
            service_error(form, error)
        else:
            messages.success(request, _("Case %(number)s logged; %(owner)s owns it.") % {
                "number": case.number, "owner": case.owner.get_full_name() or case.owner.username})
            return redirect(case.get_absolute_url())
    return render(request, "service/case_form.html", {"form": form, "institution": institution, "visit": visit},
                  status=400 if form.errors else 200)


def _detail(request: HttpRequest, case: Case, status: int = 200, **forms: Any) -> HttpResponse:
    user = request.user
    may_work = case.owner_id == user.pk or user.has_perm("service.work_case")
    notes = case.notes.select_related("by")
    visits = _customer_visits(case)
    context = {
        "case": case, "may_work": may_work, "notes": notes, "clocks": case.clocks.order_by("due_at"),
        "now": timezone.now(),
        "next_steps": [(step, _("Reopen") if step == CaseStatus.INVESTIGATING and case.status in REOPENED_FROM
                        else STEP_LABELS[step]) for step in NEXT_STEPS.get(case.status, ())] if may_work else [],
        "step_fields": _step_fields(case),
        "attachments": case_attachments(case),
        "note_form": forms.get("note_form") or NoteForm(),
        "move_form": forms.get("move_form") or MoveForm(visits=visits),
        "reassign_form": forms.get("reassign_form") or ReassignForm(users=_workers()),
        "pv_form": forms.get("pv_form") or PvForm(),
        "pv_report_form": forms.get("pv_report_form") or PvReportForm(),
        "may_report_pv": user.has_perm("service.report_pv"),
        "manifest": signatures.manifest(case) if case.kind in ROOT_CAUSE_KINDS else [],
        "resign_required": case.status == CaseStatus.CLOSED and signatures.needs_signing(case),
        "may_sign": services.may_sign(user, case),
        "sign_form": forms.get("sign_form") or CaseSignForm(needs_username=signatures.needs_username(request),
                                                            closed=case.status == CaseStatus.CLOSED),
        "may_void": user.has_perm("service.void_case") and case.status != CaseStatus.VOIDED,
        "may_archive": user.has_perm("service.archive_case"),
        "changes_since_entry": archive.changes_since_entry(case),
    }
    return render(request, "service/case_detail.html", context, status=status)


def _step_fields(case: Case) -> set[str]:
    """The fields of the next-step form that the steps open from here ask for."""
    steps = set(NEXT_STEPS.get(case.status, ()))
    fields = set()
    if steps & {CaseStatus.PROPOSED, CaseStatus.RESOLVED}:
        fields.add("solution")
    if CaseStatus.FOLLOWED_UP in steps:
        fields.add("follow_up_visit")
    if CaseStatus.CLOSED in steps and case.kind in ROOT_CAUSE_KINDS:
        fields |= {"root_cause", "corrective_action"}
    if CaseStatus.INVESTIGATING in steps and case.status in REOPENED_FROM:
        fields.add("reason")
    return fields


def _customer_visits(case: Case) -> Any:
    """The customer's visits since the case came in, to name the follow-up visit: whoever works the case sees that
    the visit happened (date, rep, goal), not the rep's report."""
    ids = (Visit.objects.filter(institution=case.institution, planned_for__gte=case.received_at - timedelta(days=1))
           .order_by("-planned_for").values_list("pk", flat=True)[:20])
    return Visit.objects.filter(pk__in=list(ids)).select_related("rep").order_by("-planned_for")


def case_attachments(case: Case) -> Any:
    return StoredFile.objects.filter(content_type=ContentType.objects.get_for_model(Case), object_id=str(case.pk))


def _workers() -> Any:
    return User.objects.filter(is_active=True, groups__permissions__codename="view_case").distinct().order_by(
        "username")


def _case(request: HttpRequest, pk: int) -> Case:
    require(request, "service.view_case")
    return get_visible_or_404(Case.objects.select_related("institution", "contact", "owner", "product", "order",
                                                          "visit", "follow_up_visit"), request.user, pk=pk)


@login_required
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _case(request, pk))


def _act(request: HttpRequest, case: Case, form_name: str, form: Any, action: Any, done: str) -> HttpResponse:
    if form.is_valid():
        try:
            action(form.cleaned_data)
        except REFUSALS as error:
            service_error(form, error)
        else:
            messages.success(request, done)
            return redirect(case.get_absolute_url())
    case.refresh_from_db()
    return _detail(request, case, status=400, **{form_name: form})


@login_required
@require_POST
def case_note(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    return _act(request, case, "note_form", NoteForm(request.POST, request.FILES), lambda data: services.add_note(
        actor=request.user, case=case, body=data["body"], internal=data["internal"], attachment=data["attachment"]),
        _("Note added."))


@login_required
@require_POST
def case_respond(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    try:
        services.respond(actor=request.user, case=case)
    except REFUSALS as error:
        refused(request, error)
    else:
        messages.success(request, _("First response recorded."))
    return redirect(case.get_absolute_url())


@login_required
@require_POST
def case_move(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    form = MoveForm(request.POST, visits=_customer_visits(case))
    return _act(request, case, "move_form", form, lambda data: services.move(
        actor=request.user, case=case, **data), _("Case updated."))


@login_required
@require_POST
def case_wait(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    try:
        services.set_waiting(actor=request.user, case=case, waiting=request.POST.get("waiting") == "1",
                             reason=request.POST.get("reason", ""))
    except REFUSALS as error:
        refused(request, error)
    return redirect(case.get_absolute_url())


@login_required
@require_POST
def case_reassign(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    return _act(request, case, "reassign_form", ReassignForm(request.POST, users=_workers()),
                lambda data: services.reassign(actor=request.user, case=case, **data), _("Case reassigned."))


@login_required
@require_POST
def case_pv(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    return _act(request, case, "pv_form", PvForm(request.POST), lambda data: services.flag_pv(
        actor=request.user, case=case, kind=data["pv_kind"], seriousness=data["pv_seriousness"],
        aware_on=data["pv_aware_on"]), _("Flagged for pharmacovigilance; the reporting clock runs."))


@login_required
@require_POST
def case_pv_report(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    return _act(request, case, "pv_report_form", PvReportForm(request.POST), lambda data: services.record_pv_report(
        actor=request.user, case=case, reference=data["reference"]), _("Report recorded."))


@login_required
@require_POST
def case_sign(request: HttpRequest, pk: int) -> HttpResponse:
    """签名关闭: close a complaint or quality case under an electronic signature (403 refused, 429 locked)."""
    case = _case(request, pk)
    form = CaseSignForm(request.POST, needs_username=signatures.needs_username(request),
                        closed=case.status == CaseStatus.CLOSED)
    status = 400
    if form.is_valid():
        data = {key: value for key, value in form.cleaned_data.items() if key not in ("username", "password")}
        try:
            services.sign_case(actor=request.user, case=case, continuity=signatures.continuity_of(request),
                               **form.components(), **data)
        except signatures.SignatureRefused as error:
            form.add_error("password", str(error))
            status = 429 if isinstance(error, signatures.SigningLocked) else 403
        except REFUSALS as error:
            service_error(form, error)
        else:
            messages.success(request, _("Signed."))
            return redirect(case.get_absolute_url())
    case.refresh_from_db()
    return _detail(request, case, status=status, sign_form=form)


@login_required
@require_POST
def case_void(request: HttpRequest, pk: int) -> HttpResponse:
    """作废: a case logged in error is voided with a reason and kept (never deleted)."""
    case = _case(request, pk)
    version = request.POST.get("version", "")
    try:
        services.void_case(actor=request.user, case=case, reason=request.POST.get("reason", ""),
                           expected_version=int(version) if version.isdigit() else None)
    except REFUSALS as error:
        refused(request, error)
    else:
        messages.success(request, _("Case voided; it is kept with its history."))
    return redirect(case.get_absolute_url())


@login_required
def case_archive(request: HttpRequest, pk: int) -> HttpResponse:
    """The case's archive as a JSON download (record, notes, clocks, audit trail, signature manifests)."""
    case = _case(request, pk)
    require(request, "service.archive_case")
    name, text = archive.archive_for_download(case, request.user)
    response = HttpResponse(text, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response


@login_required
def rules(request: HttpRequest) -> HttpResponse:
    """Who gets a new case: the rules in the order they run; the service desk adds and edits them
    (``?edit=<id>``)."""
    require(request, "service.view_assignmentrule")
    from pharmacrm.org.models import Division

    user = request.user
    rows = AssignmentRule.objects.visible_to(user).select_related("assignee", "product")
    rule = get_visible_or_404(AssignmentRule, user, pk=request.GET["edit"]) if str(
        request.GET.get("edit", "")).isdigit() else None
    may_edit = user.has_perm("service.change_assignmentrule" if rule else "service.add_assignmentrule")
    provinces = list(Division.objects.filter(parent__isnull=True).order_by("pk").values_list("pk", "name"))
    initial = ({"priority": rule.priority, "kind": rule.kind, "product": rule.product_id, "active": rule.active,
                "province_code": rule.province_code, "assignee": rule.assignee_id} if rule else None)
    form = RuleForm(request.POST or None, initial=initial, products=Product.objects.order_by("code"),
                    provinces=provinces, users=_workers()) if may_edit else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.save_rule(actor=user, rule=rule, **form.cleaned_data)
            except REFUSALS as error:
                service_error(form, error)
            else:
                messages.success(request, _("Rule saved."))
                return redirect("service:rules")
    names = dict(provinces)
    rows = list(rows)
    for row in rows:
        row.province_name = names.get(row.province_code, row.province_code)
    return render(request, "service/rules.html", {"rows": rows, "form": form, "rule": rule,
                                                  "tab": "rules"}, status=400 if form is not None and form.errors
                  else 200)
