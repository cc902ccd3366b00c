"""Visit plan pages (seed 000 三.1): the plans in the user's scope, drafting one, editing its lines, submitting it,
and the manager's approval or return. Thin: reads through ``visible_to``, writes through ``engagement.plans``."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.views.decorators.http import require_POST

from pharmacrm.core import policy
from pharmacrm.core.generic import ScopedListView, get_visible_or_404, refused, require
from pharmacrm.customers.models import Institution
from pharmacrm.engagement import plans
from pharmacrm.engagement.choices import PlanPeriod, PlanStatus
from pharmacrm.engagement.models import VisitPlan
from pharmacrm.engagement.views import REFUSALS


class PlanListView(ScopedListView):
    model = VisitPlan
    permission_required = "engagement.view_visitplan"
    template_name = "engagement/plan_list.html"
    select_related = ("rep",)
    sort_options = {"-starts_on": ("-starts_on", "period", "-id"), "starts_on": ("starts_on", "period", "id")}
    sort_labels = {"-starts_on": _l("Latest first"), "starts_on": _l("Earliest first")}

    def get_queryset(self) -> Any:
        queryset = super().get_queryset()
        status = self.request.GET.get("status")
        return queryset.filter(status=status) if status in PlanStatus.values else queryset

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = self.request.user
        today = policy.today()
        context.update(periods=PlanPeriod.choices, statuses=PlanStatus.choices, today=today,
                       next_month=(today.replace(day=1) + datetime.timedelta(days=32)).replace(day=1),
                       to_approve=(VisitPlan.objects.visible_to(user).filter(status=PlanStatus.SUBMITTED)
                                   .exclude(rep=user).count() if user.has_perm("engagement.approve_visitplan") else 0))
        return context


@login_required
@require_POST
def plan_create(request: HttpRequest) -> HttpResponse:
    """Draft the user's plan for the period that contains the chosen day."""
    require(request, "engagement.add_visitplan")
    try:
        day = datetime.date.fromisoformat(request.POST.get("day", ""))
    except ValueError:
        messages.error(request, _("Choose a day of the period to plan."))
        return redirect("engagement:plan_list")
    try:
        plan = plans.draft_plan(actor=request.user, period=request.POST.get("period", ""), day=day)
    except REFUSALS as error:
        refused(request, error)
        return redirect("engagement:plan_list")
    messages.success(request, _("Plan drafted from the cadence rules: check the visits, then submit it."))
    return redirect(plan.get_absolute_url())


def _line_values(request: HttpRequest, plan: VisitPlan) -> dict[int, tuple[str, str]]:
    values = {}
    for line_id in plan.lines.values_list("pk", flat=True):
        if f"visits-{line_id}" in request.POST:
            values[line_id] = (request.POST.get(f"visits-{line_id}", ""), request.POST.get(f"note-{line_id}", ""))
    return values


def _act(request: HttpRequest, plan: VisitPlan) -> tuple[bool, dict[str, Any]]:
    """Carry out the posted action; (done, errors by field) — errors also go to the messages."""
    action = request.POST.get("action")
    try:
        if action in ("save", "submit"):
            if plan.editable:
                version = request.POST.get("version")
                plan = plans.save_lines(actor=request.user, plan=plan, lines=_line_values(request, plan),
                                        note=request.POST.get("note"),
                                        expected_version=int(version) if str(version).isdigit() else None)
            if action == "submit":
                plans.submit_plan(actor=request.user, plan=plan)
                messages.success(request, _("Plan sent to your manager."))
            else:
                messages.success(request, _("Plan saved."))
        elif action == "add":
            institution = Institution.objects.filter(pk=request.POST.get("institution") or 0).first() \
                if str(request.POST.get("institution", "")).isdigit() else None
            plans.add_line(actor=request.user, plan=plan, institution=institution, visits=request.POST.get("visits") or 1)
            messages.success(request, _("Customer added to the plan."))
        elif action == "approve":
            plan, scheduled = plans.approve_plan(actor=request.user, plan=plan, comment=request.POST.get("comment", ""))
            messages.success(request, _("Plan approved; %(n)d visits put on the rep's calendar.") % {"n": scheduled}
                             if scheduled else _("Plan approved."))
        elif action == "return":
            plans.return_plan(actor=request.user, plan=plan, reason=request.POST.get("reason", ""))
            messages.success(request, _("Plan returned to the rep."))
        else:
            raise ValidationError({"action": _("Unknown action.")})
    except REFUSALS as error:
        refused(request, error)
        return False, error.message_dict if hasattr(error, "error_dict") else {}
    return True, {}


@login_required
def plan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The plan's lines (what the rules call for, what the rep plans, what is done so far), editable by the rep
    while a draft or returned; the manager approves or returns a submitted plan."""
    require(request, "engagement.view_visitplan")
    plan = get_visible_or_404(VisitPlan.objects.select_related("rep", "decided_by"), request.user, pk=pk)
    errors: dict[str, Any] = {}
    if request.method == "POST":
        done, errors = _act(request, plan)
        if done:
            return redirect(plan.get_absolute_url())
        plan.refresh_from_db()
    lines = list(plan.lines.select_related("institution").order_by("institution__name", "id"))
    done_visits = plans.done_visits(plan, lines) if plan.status == PlanStatus.APPROVED else {}
    for line in lines:
        line.done = done_visits.get(line.institution_id, 0)
        line.error = " ".join(errors.get(f"line-{line.pk}", []))
    user = request.user
    can_edit = plan.editable and plan.rep_id == user.pk and user.has_perm("engagement.change_visitplan")
    in_plan = {line.institution_id for line in lines}
    addable = (list(Institution.objects.visible_to(user).live().exclude(pk__in=in_plan).order_by("name", "id")
                    .only("pk", "name")[:200]) if can_edit else [])
    return render(request, "engagement/plan_detail.html", {
        "plan": plan, "lines": lines, "can_edit": can_edit, "addable": addable,
        "can_decide": (plan.status == PlanStatus.SUBMITTED and plan.rep_id != user.pk
                       and user.has_perm("engagement.approve_visitplan")),
        "totals": {"rule": sum(line.rule_visits or 0 for line in lines), "planned": sum(line.visits for line in lines),
                   "done": sum(done_visits.values()), "below": sum(1 for line in lines if line.below_rule)},
    }, status=400 if errors else 200)
