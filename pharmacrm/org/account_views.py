"""Account-request pages: list, ask for an account, and one request with its approval."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pharmacrm.core.forms import StyledFormMixin, add_service_errors
from pharmacrm.core.generic import ScopedDetailView, ScopedListView
from pharmacrm.core.models import ApprovalRequest
from pharmacrm.org import account_requests
from pharmacrm.org.forms import territories_field
from pharmacrm.org.models import AccountRequest, Team
from pharmacrm.org.roles import Role


class AccountRequestForm(StyledFormMixin, forms.Form):
    """Input shape only: ``org.account_requests.request_account`` validates and saves."""

    username = forms.CharField(label=gettext_lazy("Username"), max_length=150)
    full_name = forms.CharField(label=gettext_lazy("Full name"), max_length=100)
    email = forms.EmailField(label=gettext_lazy("Email"))
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=Role.choices)
    # The organisation chart is visible to every signed-in user (TeamQuerySet.visible_to).
    team = forms.ModelChoiceField(label=gettext_lazy("Team"), queryset=Team.objects.all())
    territories = territories_field()
    justification = forms.CharField(label=gettext_lazy("Justification"), widget=forms.Textarea(attrs={"rows": 3}))


class AccountRequestListView(ScopedListView):
    model = AccountRequest
    permission_required = "org.view_accountrequest"
    template_name = "org/accountrequest_list.html"
    select_related = ("requested_by", "team")
    sort_options = {"-id": ("-id",), "username": ("username", "id")}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["can_add"] = self.request.user.has_perm("org.add_accountrequest")
        return context


class AccountRequestDetailView(ScopedDetailView):
    """Rows are scoped (requesters see theirs; admins and leaders all): others' requests are a 404."""

    model = AccountRequest
    template_name = "org/accountrequest_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        approval = account_requests.approval_of(context["object"])
        visible = ApprovalRequest.objects.visible_to(self.request.user)
        context["approval"] = approval if approval and visible.filter(pk=approval.pk).exists() else None
        return context


@login_required
def accountrequest_create(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("org.add_accountrequest"):
        raise PermissionDenied
    form = AccountRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account_request = account_requests.request_account(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Request sent to the administrators for approval."))
            return redirect(account_request.get_absolute_url())
    return render(request, "org/accountrequest_form.html", {"form": form}, status=400 if form.errors else 200)
