"""Engagement pages: visits (plan, check in and out, report, submit, review, amend), contact logs, follow-ups and
the compliance list of flagged notes. Thin: each page reads through ``visible_to`` and writes through one service."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.views.decorators.http import require_POST

from pharmacrm.core import policy
from pharmacrm.core.audit import StaleVersion
from pharmacrm.core.generic import ScopedDetailView, ScopedListView, get_visible_or_404, refused, require, service_error
from pharmacrm.core.workflow import TransitionNotAllowed
from pharmacrm.customers.choices import ConsentChannel
from pharmacrm.customers.models import Contact, Institution, Licence
from pharmacrm.engagement import cadence, calendar, care, services
from pharmacrm.engagement.choices import OPEN_VISIT_STATUSES, TaskStatus, VisitStatus
from pharmacrm.engagement.filters import CommunicationFilter, FollowUpFilter, VisitFilter
from pharmacrm.engagement.forms import (
    AmendForm,
    CloseForm,
    CommunicationForm,
    FollowUpForm,
    GreetingForm,
    GreetingTemplateForm,
    ReasonForm,
    ReportForm,
    ReviewForm,
    VisitPlanForm,
)
from pharmacrm.engagement.models import Communication, FollowUp, GreetingTemplate, Visit
from pharmacrm.org.querysets import users_in_scope
from pharmacrm.org.roles import Role, ScopeLevel
from pharmacrm.org.scope import scope_of
from pharmacrm.sales.choices import ProductStatus
from pharmacrm.sales.models import Product

REFUSALS = (ValidationError, TransitionNotAllowed, StaleVersion, PermissionDenied)


def _contacts_at(request: HttpRequest, institution: Institution) -> Any:
    ids = Contact.objects.visible_to(request.user).working_at(institution).order_by("name", "id").values("pk")[:200]
    return Contact.objects.filter(pk__in=ids).order_by("name", "id")


# --- visits --------------------------------------------------------------------------------------------------


class VisitListView(ScopedListView):
    model = Visit
    permission_required = "engagement.view_visit"
    template_name = "engagement/visit_list.html"
    filterset_class = VisitFilter
    select_related = ("institution", "rep")
    sort_options = {"-planned_for": ("-planned_for", "-id"), "planned_for": ("planned_for", "id")}
    sort_labels = {"-planned_for": _l("Latest first"), "planned_for": _l("Earliest first")}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context["to_review"] = (Visit.objects.visible_to(user).filter(status=VisitStatus.SUBMITTED).exclude(rep=user)
                                .count() if user.has_perm("engagement.review_visit") else 0)
        return context


@login_required
def visit_create(request: HttpRequest) -> HttpResponse:
    """Plan a visit of one customer (``?institution=``): goal, time, people and content (seed 000 三.1)."""
    require(request, "engagement.add_visit")
    institution = get_visible_or_404(Institution, request.user, pk=request.GET.get("institution") or 0)
    form = VisitPlanForm(request.POST or None, contacts=_contacts_at(request, institution))
    if request.method == "POST" and form.is_valid():
        try:
            visit = services.plan_visit(actor=request.user, institution=institution, **form.cleaned_data)
        except REFUSALS as error:
            service_error(form, error)
        else:
            messages.success(request, _("Visit planned."))
            return redirect(visit.get_absolute_url())
    return render(request, "engagement/visit_form.html", {"form": form, "institution": institution},
                  status=400 if form.errors else 200)


class VisitDetailView(ScopedDetailView):
    """The visit: plan and checklist, check-in, the report (editable while open), review and amendments."""

    model = Visit
    permission_required = "engagement.view_visit"
    template_name = "engagement/visit_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        visit: Visit = context["object"]
        user = self.request.user
        mine = visit.rep_id == user.pk and user.has_perm("engagement.change_visit")
        context.update(
            mine=mine, editable=mine and visit.status in OPEN_VISIT_STATUSES,
            can_review=(visit.status == VisitStatus.SUBMITTED and visit.rep_id != user.pk
                        and user.has_perm("engagement.review_visit")),
            can_amend=mine and visit.status in (VisitStatus.SUBMITTED, VisitStatus.REVIEWED),
            amendments=visit.amendments.select_related("by"),
            follow_ups=visit.follow_ups.select_related("owner"),
            planned_contacts=visit.planned_contacts.all(), contacts_met=visit.contacts_met.all(),
            products=visit.products.all(),
            report_fields=[(Visit._meta.get_field(name).verbose_name, getattr(visit, name))
                           for name in services.REPORT_TEXT_FIELDS],
        )
        if context["editable"]:
            context["report_form"] = kwargs.get("report_form") or _report_form(self.request, visit)
        if context["can_review"]:
            context["review_form"] = kwargs.get("review_form") or ReviewForm()
        if context["can_amend"]:
            context["amend_form"] = kwargs.get("amend_form") or AmendForm(labels=_field_labels())
        return context


def _field_labels() -> dict[str, str]:
    return {name: str(Visit._meta.get_field(name).verbose_name) for name in services.AMENDABLE_FIELDS}


def _report_form(request: HttpRequest, visit: Visit, data: Any = None) -> ReportForm:
    initial = {name: getattr(visit, name) for name in services.REPORT_TEXT_FIELDS}
    initial.update(channel=visit.channel, version=visit.version,
                   contacts=list(visit.contacts_met.values_list("pk", flat=True))
                   or list(visit.planned_contacts.values_list("pk", flat=True)),
                   products=list(visit.products.values_list("pk", flat=True)))
    return ReportForm(data, initial=initial, contacts=_contacts_at(request, visit.institution),
                      products=Product.objects.visible_to(request.user).filter(status=ProductStatus.ACTIVE).order_by(
                          "generic_name", "id"))


def _detail(request: HttpRequest, visit: Visit, status: int = 200, **forms: Any) -> HttpResponse:
    view = VisitDetailView()
    view.setup(request, pk=visit.pk)
    context = view.get_context_data(**forms)
    return render(request, VisitDetailView.template_name, context, status=status)


def _own_visit(request: HttpRequest, pk: int) -> Visit:
    require(request, "engagement.change_visit")
    return get_visible_or_404(Visit, request.user, pk=pk)


@login_required
@require_POST
def visit_check_in(request: HttpRequest, pk: int) -> HttpResponse:
    visit = _own_visit(request, pk)
    try:
        services.check_in(actor=request.user, visit=visit, latitude=request.POST.get("latitude"),
                          longitude=request.POST.get("longitude"), accuracy=request.POST.get("accuracy"),
                          photo=request.FILES.get("photo"))
    except REFUSALS as error:
        refused(request, error)
    else:
        messages.success(request, _("Checked in."))
    return redirect(visit.get_absolute_url())


@login_required
@require_POST
def visit_check_out(request: HttpRequest, pk: int) -> HttpResponse:
    visit = _own_visit(request, pk)
    try:
        services.check_out(actor=request.user, visit=visit, latitude=request.POST.get("latitude"),
                           longitude=request.POST.get("longitude"))
    except REFUSALS as error:
        refused(request, error)
    else:
        messages.success(request, _("Checked out."))
    return redirect(visit.get_absolute_url())


@login_required
@require_POST
def visit_report(request: HttpRequest, pk: int) -> HttpResponse:
    """Save the report; with ``submit`` in the form, also submit it (locks it, raises the follow-ups)."""
    visit = _own_visit(request, pk)
    form = _report_form(request, visit, request.POST)
    if not form.is_valid():
        return _detail(request, visit, status=400, report_form=form)
    data = form.cleaned_data
    try:
        visit = services.save_report(actor=request.user, visit=visit, expected_version=data["version"],
                                     channel=data["channel"], contacts=data["contacts"], products=data["products"],
                                     **{name: data[name] for name in services.REPORT_TEXT_FIELDS})
        if "submit" in request.POST:
            services.submit_report(actor=request.user, visit=visit, problems=data["problems"])
    except REFUSALS as error:
        service_error(form, error)
        visit.refresh_from_db()
        return _detail(request, visit, status=409 if isinstance(error, StaleVersion) else 400, report_form=form)
    messages.success(request, _("Report submitted.") if "submit" in request.POST else _("Report saved."))
    return redirect(visit.get_absolute_url())


@login_required
@require_POST
def visit_review(request: HttpRequest, pk: int) -> HttpResponse:
    require(request, "engagement.review_visit")
    visit = get_visible_or_404(Visit, request.user, pk=pk)
    form = ReviewForm(request.POST)
    if form.is_valid():
        try:
            services.review_visit(actor=request.user, visit=visit, comment=form.cleaned_data["comment"])
        except REFUSALS as error:
            service_error(form, error)
        else:
            messages.success(request, _("Review saved; the rep has been told."))
            return redirect(visit.get_absolute_url())
    return _detail(request, visit, status=400, review_form=form)


@login_required
@require_POST
def visit_amend(request: HttpRequest, pk: int) -> HttpResponse:
    visit = _own_visit(request, pk)
    form = AmendForm(request.POST, labels=_field_labels())
    if form.is_valid():
        try:
            services.amend_visit(actor=request.user, visit=visit, **form.cleaned_data)
        except REFUSALS as error:
            service_error(form, error)
        else:
            messages.success(request, _("Amendment recorded."))
            return redirect(visit.get_absolute_url())
    return _detail(request, visit, status=400, amend_form=form)


@login_required
def visit_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    visit = _own_visit(request, pk)
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.cancel_visit(actor=request.user, visit=visit, reason=form.cleaned_data["reason"])
        except REFUSALS as error:
            service_error(form, error)
        else:
            messages.success(request, _("Visit cancelled."))
            return redirect(visit.get_absolute_url())
    return render(request, "engagement/form.html", {"form": form, "title": _("Cancel the visit"),
                                                    "back": visit.get_absolute_url()},
                  status=400 if form.errors else 200)


# --- communications ------------------------------------------------------------------------------------------


class CommunicationListView(ScopedListView):
    model = Communication
    permission_required = "engagement.view_communication"
    template_name = "engagement/communication_list.html"
    filterset_class = CommunicationFilter
    select_related = ("institution", "contact", "by")
    sort_options = {"-occurred_at": ("-occurred_at", "-id"), "occurred_at": ("occurred_at", "id")}
    sort_labels = {"-occurred_at": _l("Latest first"), "occurred_at": _l("Earliest first")}


@login_required
def communication_create(request: HttpRequest) -> HttpResponse:
    """Log a contact with a customer (``?institution=``) in a few taps."""
    require(request, "engagement.add_communication")
    institution = get_visible_or_404(Institution, request.user, pk=request.GET.get("institution") or 0)
    form = CommunicationForm(request.POST or None, contacts=_contacts_at(request, institution),
                             initial={"contact": request.GET.get("contact")})
    if request.method == "POST" and form.is_valid():
        try:
            services.log_communication(actor=request.user, institution=institution, **form.cleaned_data)
        except REFUSALS as error:
            service_error(form, error)
        else:
            messages.success(request, _("Contact logged."))
            return redirect(institution.get_absolute_url())
    return render(request, "engagement/communication_form.html", {"form": form, "institution": institution},
                  status=400 if form.errors else 200)


class CommunicationDetailView(ScopedDetailView):
    model = Communication
    permission_required = "engagement.view_communication"
    template_name = "engagement/communication_detail.html"


# --- follow-ups ----------------------------------------------------------------------------------------------


class FollowUpListView(ScopedListView):
    model = FollowUp
    permission_required = "engagement.view_followup"
    template_name = "engagement/followup_list.html"
    filterset_class = FollowUpFilter
    select_related = ("institution", "owner")
    sort_options = {"due_on": ("due_on", "id"), "-id": ("-id",)}
    sort_labels = {"due_on": _l("Due first")}

    def get_queryset(self) -> Any:
        rows = super().get_queryset()
        return rows if self.request.GET.get("status") else rows.filter(status=TaskStatus.OPEN)


class FollowUpDetailView(ScopedDetailView):
    model = FollowUp
    permission_required = "engagement.view_followup"
    template_name = "engagement/followup_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        task = context["object"]
        context["can_close"] = task.status == TaskStatus.OPEN and self.request.user.has_perm(
            "engagement.change_followup")
        context["close_form"] = kwargs.get("close_form") or CloseForm()
        return context


@login_required
def followup_create(request: HttpRequest) -> HttpResponse:
    require(request, "engagement.add_followup")
    institution = get_visible_or_404(Institution, request.user, pk=request.GET.get("institution") or 0)
    form = FollowUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            task = services.raise_follow_up(actor=request.user, institution=institution, **form.cleaned_data)
        except REFUSALS as error:
            service_error(form, error)
        else:
            messages.success(request, _("Follow-up raised."))
            return redirect(task.get_absolute_url())
    return render(request, "engagement/form.html", {"form": form, "title": _("Raise a follow-up: %(name)s") % {
        "name": institution.name}, "back": institution.get_absolute_url()}, status=400 if form.errors else 200)


@login_required
@require_POST
def followup_close(request: HttpRequest, pk: int) -> HttpResponse:
    require(request, "engagement.change_followup")
    task = get_visible_or_404(FollowUp, request.user, pk=pk)
    form = CloseForm(request.POST)
    if form.is_valid():
        try:
            services.close_follow_up(actor=request.user, task=task, **form.cleaned_data)
        except REFUSALS as error:
            service_error(form, error)
        else:
            messages.success(request, _("Follow-up closed."))
            return redirect(task.get_absolute_url())
    view = FollowUpDetailView()
    view.setup(request, pk=task.pk)
    return render(request, FollowUpDetailView.template_name, view.get_context_data(close_form=form), status=400)


# --- compliance ----------------------------------------------------------------------------------------------


class FlaggedListView(ScopedListView):
    """Call reports with flagged words, for compliance (and managers, for their team's)."""

    model = Visit
    permission_required = "engagement.view_visit"
    template_name = "engagement/flagged_list.html"
    select_related = ("institution", "rep")
    sort_options = {"-id": ("-id",)}

    def get_queryset(self) -> Any:
        return super().get_queryset().exclude(Q(flagged_terms=[]) | Q(flagged_terms__isnull=True))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["communications"] = (Communication.objects.visible_to(self.request.user)
                                     .exclude(Q(flagged_terms=[]) | Q(flagged_terms__isnull=True))
                                     .select_related("institution", "by").order_by("-id")[:50])
        return context


# --- the rep's day and cadence ---------------------------------------------------------------------------------


@login_required
def today(request: HttpRequest) -> HttpResponse:
    """The rep's day on one phone screen: visits in order, follow-ups due, customers below cadence, licences
    running out — each one tap from the visit, the task or the customer."""
    require(request, "engagement.view_visit")
    user = request.user
    day = policy.today()
    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=policy.CHINA)
    visits = (Visit.objects.filter(rep=user).exclude(status=VisitStatus.CANCELLED)
              .filter(Q(planned_for__gte=start, planned_for__lt=start + datetime.timedelta(days=1))
                      | Q(status=VisitStatus.IN_PROGRESS))
              .select_related("institution").order_by("planned_for", "id"))
    upcoming = (Visit.objects.filter(rep=user, status=VisitStatus.PLANNED,
                                     planned_for__gte=start + datetime.timedelta(days=1),
                                     planned_for__lt=start + datetime.timedelta(days=8))
                .select_related("institution").order_by("planned_for", "id")[:10])
    follow_ups = (FollowUp.objects.filter(owner=user, status=TaskStatus.OPEN,
                                          due_on__lte=day + datetime.timedelta(days=7))
                  .select_related("institution").order_by("due_on", "id")[:20])
    book = cadence.book_of(user)
    rows = cadence.rows_for(book, day)
    below = sorted((row for row in rows if row.below), key=lambda row: (-row.days_overdue, -row.short_by))
    licences = (Licence.objects.visible_to(user).filter(institution__in=book.values("pk"), valid_to__gte=day,
                                                       valid_to__lte=day + datetime.timedelta(days=30))
                .select_related("institution").order_by("valid_to", "id")[:10])
    from pharmacrm.service.metrics import open_cases  # the service desk builds on engagement, not the reverse

    cases, cases_count = open_cases(user, book)
    return render(request, "engagement/today.html", {
        "day": day, "visits": visits, "upcoming": upcoming, "follow_ups": follow_ups, "below": below[:10],
        "below_count": len(below), "summary": cadence.summarize(rows), "licences": licences,
        "occasions": care.calendar_for(user, day, day + datetime.timedelta(days=6))[:15],
        "cases": cases, "cases_count": cases_count})


@login_required
def cadence_page(request: HttpRequest) -> HttpResponse:
    """Whether every customer gets the contact its classes call for: per rep in the user's scope (a rep: their
    own book; a manager: the team's reps), and the customers below cadence of the rep chosen."""
    require(request, "engagement.view_visit")
    day = policy.today()
    reps = list(users_in_scope(request.user).filter(role__in=[Role.REP, Role.ACADEMIC_REP], is_active=True)
                .order_by("username")[:200])
    chosen = next((rep for rep in reps if str(rep.pk) == request.GET.get("rep")), None)
    if chosen is None and request.user in reps:
        chosen = request.user
    per_rep = []
    if len(reps) <= 30:  # a team's reps: a summary each (one read of their books together)
        rows = cadence.rows_for(Institution.objects.live().filter(Q(owner__in=reps) | Q(academic_owner__in=reps)),
                                day)
        for rep in reps:
            mine = [row for row in rows if rep.pk in (row.institution.owner_id, row.institution.academic_owner_id)]
            per_rep.append((rep, cadence.summarize(mine)))
    below: list[cadence.Row] = []
    # head office and regional managers: every customer of their scope, from the nightly table
    wide = scope_of(request.user).level in (ScopeLevel.REGION, ScopeLevel.ALL)
    overview = cadence.overview(request.user) if wide else None
    if chosen is not None:
        below = sorted((row for row in cadence.rows_for(cadence.book_of(chosen), day) if row.below),
                       key=lambda row: (-row.days_overdue, -row.short_by))
    from pharmacrm.service.metrics import clinical_response

    return render(request, "engagement/cadence.html", {
        "reps": reps, "chosen": chosen, "per_rep": per_rep, "below": below[:200], "below_count": len(below),
        "day": day, "overview": overview, "clinical": clinical_response(request.user, cadence.month_start(day))})


# --- calendar ------------------------------------------------------------------------------------------------


def _parse_day(value: str | None, default: datetime.date) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value) if value else default
    except ValueError:
        return default


@login_required
def calendar_page(request: HttpRequest) -> HttpResponse:
    """A rep's visits by week (default) or month; managers choose a rep of their scope. POST makes the
    iCalendar address (shown once) or stops it."""
    require(request, "engagement.view_visit")
    user = request.user
    feed_url = ""
    if request.method == "POST":
        if request.POST.get("feed") == "new":
            token = calendar.new_feed(actor=user)
            feed_url = request.build_absolute_uri(reverse("engagement:calendar_feed", args=[token]))
        elif request.POST.get("feed") == "stop":
            calendar.stop_feed(actor=user)
            messages.success(request, _("The calendar address no longer works."))
    day = policy.today()
    month = request.GET.get("view") == "month"
    anchor = _parse_day(request.GET.get("start"), day)
    if month:
        start = anchor.replace(day=1)
        first = start - datetime.timedelta(days=start.weekday())
        following = (start + datetime.timedelta(days=32)).replace(day=1)
        days = (following - first).days
        days += (7 - days % 7) % 7
        previous, after = (start - datetime.timedelta(days=1)).replace(day=1), following
    else:
        first = anchor - datetime.timedelta(days=anchor.weekday())
        days, previous, after = 7, first - datetime.timedelta(days=7), first + datetime.timedelta(days=7)
    reps = list(users_in_scope(user).filter(role__in=[Role.REP, Role.ACADEMIC_REP, Role.KEY_ACCOUNT],
                                            is_active=True).order_by("username")[:200])
    rep = next((person for person in reps if str(person.pk) == request.GET.get("rep")), user)
    begin = datetime.datetime.combine(first, datetime.time.min, tzinfo=policy.CHINA)
    by_day: dict[datetime.date, list[Visit]] = {first + datetime.timedelta(days=n): [] for n in range(days)}
    for visit in calendar.visits_between(rep, begin, begin + datetime.timedelta(days=days)):
        by_day.setdefault(timezone.localtime(visit.planned_for, policy.CHINA).date(), []).append(visit)
    weeks = [list(by_day.items())[index:index + 7] for index in range(0, days, 7)]
    return render(request, "engagement/calendar.html", {
        "weeks": weeks, "month": month, "start": start if month else first, "previous": previous, "after": after,
        "today": day, "reps": reps if len(reps) > 1 else [], "rep": rep, "feed_url": feed_url,
        "has_feed": calendar.has_feed(user)})


def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The iCalendar document of the rep whose secret address this is; 404 for any other address."""
    owner = calendar.feed_owner(token)
    if owner is None:
        raise Http404
    # no caching header of its own: a rep's schedule is personal data, so the feed gets the site's no-store
    return HttpResponse(calendar.ics(owner, request.build_absolute_uri("/")[:-1]),
                        content_type="text/calendar; charset=utf-8")


@login_required
def care_page(request: HttpRequest) -> HttpResponse:
    """Birthdays (lunar ones on this year's day), festivals and anniversaries of the rep's book, four weeks from
    ``?start=`` (today); which channels each contact consented to greetings on."""
    require(request, "engagement.view_visit")
    start = _parse_day(request.GET.get("start"), policy.today())
    end = start + datetime.timedelta(days=27)
    return render(request, "engagement/care.html", {
        "occasions": care.calendar_for(request.user, start, end), "start": start, "end": end,
        "previous": start - datetime.timedelta(days=28), "after": end + datetime.timedelta(days=1),
        "sees_birthdays": request.user.has_perm("customers.view_contact_personal_data")})


@login_required
def greet(request: HttpRequest) -> HttpResponse:
    """Greet one contact (``?contact=``) through an approved template, on a channel they consented to."""
    require(request, "engagement.add_greeting")
    contact = get_visible_or_404(Contact, request.user, pk=request.GET.get("contact") or 0)
    labels = dict(ConsentChannel.choices)
    consented = care.greeting_channels([contact.pk], policy.today()).get(contact.pk, [])
    form = GreetingForm(request.POST or None, templates=GreetingTemplate.objects.visible_to(request.user).approved(),
                        channels=[(channel, labels[channel]) for channel in consented])
    if request.method == "POST" and form.is_valid():
        try:
            sent = care.send_greetings(actor=request.user, contacts=[contact], **form.cleaned_data)
        except REFUSALS as error:
            service_error(form, error)
        else:
            if sent.greeted:
                messages.success(request, _("Greeting recorded."))
            for _contact, reason in sent.skipped:
                messages.warning(request, _("Not sent: %(reason)s.") % {"reason": reason})
            return redirect(reverse("engagement:care"))
    return render(request, "engagement/greet.html", {"form": form, "contact": contact, "consented": consented},
                  status=400 if form.errors else 200)


@login_required
def greeting_templates(request: HttpRequest) -> HttpResponse:
    """Greeting templates: marketing writes them, compliance approves them (POST ``approve=<id>``)."""
    require(request, "engagement.view_greetingtemplate")
    user = request.user
    form = GreetingTemplateForm(request.POST or None) if user.has_perm("engagement.add_greetingtemplate") else None
    if request.method == "POST" and request.POST.get("approve"):
        template = get_visible_or_404(GreetingTemplate, user, pk=request.POST["approve"])
        try:
            version = request.POST.get("version", "")
            care.approve_template(actor=user, template=template,
                                  expected_version=int(version) if version.isdigit() else None)
        except REFUSALS as error:
            refused(request, error)
        else:
            messages.success(request, _("Template approved."))
        return redirect(reverse("engagement:greeting_templates"))
    if request.method == "POST" and form is not None and form.is_valid():
        try:
            care.save_template(actor=user, **form.cleaned_data)
        except REFUSALS as error:
            service_error(form, error)
        else:
            messages.success(request, _("Template saved; it is used once compliance approves it."))
            return redirect(reverse("engagement:greeting_templates"))
    return render(request, "engagement/greeting_templates.html", {
        "templates": GreetingTemplate.objects.visible_to(user).select_related("approved_by"), "form": form,
        "can_approve": user.has_perm("engagement.approve_greetingtemplate")},
        status=400 if form is not None and form.errors else 200)
