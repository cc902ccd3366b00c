"""The organisation: team tree, people directory, and a person's role, team and territories."""

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
from django.views.decorators.http import require_POST

from pharmacrm.core.audit import StaleVersion
from pharmacrm.core.forms import StyledFormMixin, add_service_errors
from pharmacrm.core.generic import ScopedDetailView, ScopedListView, get_visible_or_404, scoped_queryset
from pharmacrm.org import services
from pharmacrm.org.filters import UserFilter
from pharmacrm.org.forms import territories_field
from pharmacrm.org.models import Team, User
from pharmacrm.org.roles import ROLE_SCOPE, Role, ScopeLevel


@login_required
def team_tree(request: HttpRequest) -> HttpResponse:
    """Every team under its parent, with its manager and members (the chart is public to colleagues)."""
    teams = list(scoped_queryset(Team, request.user).select_related("manager").order_by("path"))
    members: dict[int, list[User]] = {}
    for person in scoped_queryset(User, request.user).filter(is_active=True).order_by("role", "username"):
        members.setdefault(person.team_id, []).append(person)
    rows = [{"team": team, "depth": team.path.count("/") - 2, "members": members.get(team.pk, [])}
            for team in teams]
    return render(request, "org/team_tree.html", {
        "rows": rows, "unassigned": members.get(None, []),
        "can_view_people": request.user.has_perm("org.view_user"),
    })


class UserListView(ScopedListView):
    model = User
    permission_required = "org.view_user"
    template_name = "org/user_list.html"
    filterset_class = UserFilter
    select_related = ("team",)
    sort_options = {"username": ("username",), "-last_login": ("-last_login", "username")}
    page_size = 50
    export_permission = "org.view_user"
    export_name = "users"
    export_columns = (
        (gettext_lazy("Username"), "username"), (gettext_lazy("Full name"), "full_name"),
        (gettext_lazy("Role"), "get_role_display"), (gettext_lazy("Team"), "team.name"),
        (gettext_lazy("Email"), "email"), (gettext_lazy("Active"), "is_active"),
        (gettext_lazy("Last login"), "last_login"),
    )


class UserDetailView(ScopedDetailView):
    model = User
    permission_required = "org.view_user"
    template_name = "org/user_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        from django_otp.plugins.otp_totp.models import TOTPDevice

        context = super().get_context_data(**kwargs)
        person = context["object"]
        context.update(
            person=person,
            territories=person.territories.select_related("parent").order_by("code"),
            scope_label=ScopeLevel(ROLE_SCOPE.get(person.role, ScopeLevel.NONE)).label,
            has_second_factor=TOTPDevice.objects.filter(user=person, confirmed=True).exists(),
            can_change=self.request.user.has_perm("org.change_user"),
            is_self=person.pk == self.request.user.pk,
        )
        return context


class AssignmentForm(StyledFormMixin, forms.Form):
    """Input shape only: ``org.services.update_assignment`` validates and saves."""

    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=Role.choices)
    team = forms.ModelChoiceField(label=gettext_lazy("Team"), queryset=Team.objects.all(), required=False)
    territories = territories_field()
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=500,
                             widget=forms.Textarea(attrs={"rows": 2}))
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class ReasonForm(StyledFormMixin, forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=500)


def _change_target(request: HttpRequest, pk: int) -> User:
    person = get_visible_or_404(User, request.user, pk=pk)
    if not request.user.has_perm("org.change_user"):
        raise PermissionDenied
    return person


@login_required
def user_assignment(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a person's role, team and territories (what they may see), with a reason."""
    person = _change_target(request, pk)
    initial = {"role": person.role, "team": person.team, "territories": list(person.territories.all()),
               "version": person.version}
    form = AssignmentForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.update_assignment(actor=request.user, user=person, role=data["role"], team=data["team"],
                                       territories=list(data["territories"]), reason=data["reason"],
                                       expected_version=data["version"])
        except (StaleVersion, ValidationError) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("org:user_detail", pk=person.pk)
    return render(request, "org/user_form.html", {"form": form, "person": person},
                  status=400 if form.errors else 200)


@login_required
@require_POST
def user_set_active(request: HttpRequest, pk: int) -> HttpResponse:
    """Deactivate or reactivate an account, with a reason."""
    person = _change_target(request, pk)
    form = ReasonForm(request.POST)
    active = request.POST.get("active") == "1"
    if form.is_valid():
        try:
            services.set_active(actor=request.user, user=person, active=active, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Account reactivated.") if active else _("Account deactivated."))
            return redirect("org:user_detail", pk=person.pk)
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)
    return redirect("org:user_detail", pk=person.pk)
