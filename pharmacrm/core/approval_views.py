"""Approval pages: the inbox (awaiting me / requested by me / all visible), one request, and its decision."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from pharmacrm.core.approvals import awaiting_decision, can_decide, decide
from pharmacrm.core.forms import SigningFormMixin, StyledFormMixin, add_service_errors
from pharmacrm.core.generic import ScopedListView, get_visible_or_404
from pharmacrm.core.models import ApprovalRequest
from pharmacrm.core.signatures import SignatureRefused, SigningLocked, continuity_of, needs_username
from pharmacrm.core.signatures import verify as signature_is_valid
from pharmacrm.core.workflow import TransitionNotAllowed

TABS = ("awaiting", "mine", "all")


class DecisionForm(StyledFormMixin, SigningFormMixin):
    """Input shape only; ``core.approvals.decide`` checks the signature components and the rules."""

    decision = forms.ChoiceField(choices=[("approve", "approve"), ("reject", "reject")], widget=forms.HiddenInput)
    comment = forms.CharField(label=gettext_lazy("Comment"), required=False, max_length=2000,
                              widget=forms.Textarea(attrs={"rows": 3}),
                              help_text=gettext_lazy("Required when rejecting."))
    field_order = ["decision", "comment", "username", "password"]


class ApprovalListView(ScopedListView):
    model = ApprovalRequest
    template_name = "core/approval_list.html"
    select_related = ("requested_by",)
    sort_options = {"-id": ("-id",), "status": ("status", "-id")}

    def tab(self) -> str:
        tab = self.request.GET.get("tab", "awaiting")
        return tab if tab in TABS else "awaiting"

    def get_queryset(self) -> models.QuerySet:
        queryset = super().get_queryset()
        tab = self.tab()
        if tab == "awaiting":
            return queryset.filter(pk__in=awaiting_decision(self.request.user).values("pk"))
        if tab == "mine":
            return queryset.filter(requested_by=self.request.user)
        return queryset

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["tab"] = self.tab()
        context["tabs"] = [("awaiting", _("Awaiting my decision")), ("mine", _("Requested by me")),
                           ("all", _("All visible"))]
        return context


def _detail_context(request: HttpRequest, approval: ApprovalRequest, form: DecisionForm | None = None) -> dict[str, Any]:
    steps = list(approval.steps.select_related("decided_by", "signature").order_by("position"))
    manifest = [{"step": step, "signature": step.signature, "valid": signature_is_valid(step.signature)}
                for step in steps if step.signature is not None]
    allowed = can_decide(request.user, approval)
    return {
        "object": approval, "steps": steps, "manifest": manifest, "can_decide": allowed,
        "form": form or (DecisionForm(needs_username=needs_username(request)) if allowed else None),
        "subject": approval.subject,
    }


@login_required
def approval_detail(request: HttpRequest, pk: int) -> HttpResponse:
    approval = get_visible_or_404(ApprovalRequest, request.user, pk=pk)
    return render(request, "core/approval_detail.html", _detail_context(request, approval))


@login_required
@require_POST
def approval_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve or reject under an electronic signature; errors come back inline on the page."""
    approval = get_visible_or_404(ApprovalRequest, request.user, pk=pk)
    form = DecisionForm(request.POST, needs_username=needs_username(request))
    status = 400
    if form.is_valid():
        try:
            decide(actor=request.user, approval=approval, approve=form.cleaned_data["decision"] == "approve",
                   comment=form.cleaned_data["comment"], continuity=continuity_of(request), **form.components())
        except SigningLocked as exc:
            form.add_error("password", str(exc))
            status = 429
        except SignatureRefused as exc:
            form.add_error("password", str(exc))
            status = 403
        except ValidationError as exc:
            add_service_errors(form, exc)
        except TransitionNotAllowed as exc:
            messages.error(request, str(exc))
            return redirect(approval.get_absolute_url())
        else:
            approved = form.cleaned_data["decision"] == "approve"
            messages.success(request, _("Approved and signed.") if approved else _("Rejected and signed."))
            return redirect(approval.get_absolute_url())
    form = _restyled(form)
    return render(request, "core/approval_detail.html", _detail_context(request, approval, form), status=status)


def _restyled(form: DecisionForm) -> DecisionForm:
    """Errors added after validation also need the invalid style on their widgets."""
    for name in form.errors:
        if name in form.fields and "is-invalid" not in form.fields[name].widget.attrs.get("class", ""):
            form.fields[name].widget.attrs["class"] = form.fields[name].widget.attrs.get("class", "") + " is-invalid"
    return form
