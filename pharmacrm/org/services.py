"""Writes about people and the organisation: roles, teams, users, security events."""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pharmacrm.core.audit import audited_create, audited_update, log_event
from pharmacrm.core.models import AuditAction, AuditEntry
from pharmacrm.core.notifications import notify
from pharmacrm.org.models import Division, DivisionLevel, Team, User
from pharmacrm.org.roles import ROLE_PERMISSIONS, ROLE_SCOPE, Role, ScopeLevel
from pharmacrm.org.scope import authorize


def sync_role_groups() -> None:
    """Make one group per role holding exactly the role's permissions (org.roles)."""
    for role in Role:
        group, _created = Group.objects.get_or_create(name=role.value)
        wanted = []
        for dotted in sorted(ROLE_PERMISSIONS.get(role, set())):
            app_label, codename = dotted.split(".", 1)
            permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if permission is not None:
                wanted.append(permission)
        group.permissions.set(wanted)


def _sync_user_group(user: User) -> None:
    group = Group.objects.get(name=user.role)
    user.groups.set([group])


def create_team(*, actor: Any, name: str, parent: Team | None = None, manager: User | None = None) -> Team:
    """A team or department; its path makes subtree scope one indexed filter."""
    with transaction.atomic():
        team = audited_create(Team, actor=actor, name=name, parent=parent, manager=manager)
        path = f"{parent.path if parent else '/'}{team.pk}/"
        return audited_update(team, actor=actor, changes={"path": path})


def create_user(*, actor: Any, username: str, full_name: str, role: str, team: Team | None = None,
                email: str = "", password: str | None = None, territories: list[Any] | None = None,
                language: str = "zh-hans") -> User:
    """A user with a role (→ group), a team and territories."""
    with transaction.atomic():
        user = User(username=username, full_name=full_name, role=role, team=team, email=email, language=language)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.full_clean(exclude=["password"])
        user.save()
        _sync_user_group(user)
        if territories:
            user.territories.set(territories)
        log_event(AuditAction.CREATE, actor=actor, obj=user, changes={
            "username": [None, username], "full_name": [None, full_name], "role": [None, role],
            "team": [None, team.pk if team else None], "email": [None, email],
            "territories": [None, sorted(t.pk for t in territories or [])],
        })
    return user


def send_set_password_link(user: User) -> None:
    """Mail a one-time link to choose a password (new accounts; the same token as a reset)."""
    from django.conf import settings
    from django.contrib.auth.tokens import default_token_generator
    from django.core.mail import send_mail
    from django.urls import reverse
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode
    from django.utils.translation import override

    path = reverse("org:password_reset_confirm", kwargs={
        "uidb64": urlsafe_base64_encode(force_bytes(user.pk)), "token": default_token_generator.make_token(user)})
    with override(user.language):
        body = _("Hello %(name)s,\n\nan account was created for you in PharmaCRM (username: %(username)s).\n"
                 "Choose your password here (the link works once):\n%(url)s\n") % {
            "name": user.get_full_name(), "username": user.username, "url": settings.SITE_URL.rstrip("/") + path}
        send_mail(_("Your PharmaCRM account"), body, settings.DEFAULT_FROM_EMAIL, [user.email])


def change_role(*, actor: Any, user: User, role: str, reason: str) -> User:
    """Role changes are audited with a reason and move the user to the role's group."""
    with transaction.atomic():
        audited_update(user, actor=actor, changes={"role": role}, reason=reason)
        _sync_user_group(user)
    return user


def set_language(*, user: User, language: str) -> User:
    """The user's interface language (zh-hans or en)."""
    if user.language != language:
        audited_update(user, actor=user, changes={"language": language})
    return user


def issue_api_token(user: User) -> str:
    """The user's API token (one per user), audited as a login through the API."""
    from rest_framework.authtoken.models import Token

    with transaction.atomic():
        token, _created = Token.objects.get_or_create(user=user)
        log_event(AuditAction.LOGIN, actor=user, obj=user, changes={"via": "api-token"})
    return token.key


def pending_totp_device(user: User) -> Any:
    """The user's unconfirmed TOTP device, created on first use (enrolment shows its QR code)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user, confirmed=False).first() or TOTPDevice.objects.create(
        user=user, name="default", confirmed=False)


def confirm_totp_device(*, user: User, device: Any) -> None:
    """The first valid code confirms the device; the user's second factor is audited."""
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        log_event(AuditAction.UPDATE, actor=user, obj=user, changes={"second_factor": [None, "totp"]})


def report_lockout(username: str, ip_address: str | None, *, signing: bool = False) -> None:
    """Audit a lockout (of the login, or of electronic signing) and tell the administrators (a security event).

    axes reports every attempt made while the account is locked: each is audited, but the administrators are
    told once per lockout window, not once per attempt of a brute-force run."""
    locked = "signing" if signing else "login"
    since = timezone.now() - datetime.timedelta(hours=settings.AXES_COOLOFF_TIME)
    with transaction.atomic():
        user = User.objects.filter(username=username).first()
        told = AuditEntry.objects.filter(action=AuditAction.LOCKOUT, object_repr=username, created_at__gte=since,
                                         changes__locked=locked).exists()
        log_event(AuditAction.LOCKOUT, obj=user, object_repr=username, changes={"ip": ip_address, "locked": locked})
        if told:
            return
        for admin in User.objects.filter(role=Role.ADMIN, is_active=True):
            if signing:
                notify(admin, _("Signing locked: %(username)s") % {"username": username},
                       _("Too many failed electronic signatures from %(ip)s.") % {"ip": ip_address or "?"},
                       email=True)
            else:
                notify(admin, _("Account locked: %(username)s") % {"username": username},
                       _("Too many failed logins from %(ip)s.") % {"ip": ip_address or "?"}, email=True)


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("A reason is required for this change.")})
    return reason


def _other_active_admins(user: User) -> bool:
    """Whether another active administrator exists; locks the admins' rows so that two
    administrators demoting each other at once cannot leave the company without one."""
    admins = User.objects.select_for_update().filter(role=Role.ADMIN, is_active=True).exclude(pk=user.pk)
    return bool(list(admins.values_list("pk", flat=True)))


def update_assignment(*, actor: Any, user: User, role: str, team: Team | None, territories: list[Division],
                      reason: str, expected_version: int | None = None) -> User:
    """Change what a user may see: role (→ group and scope), team and territories; audited with a reason."""
    authorize(actor, "org.change_user")
    reason = _require_reason(reason)
    errors: dict[str, str] = {}
    if role not in Role.values:
        errors["role"] = _("Choose a valid role.")
    if ROLE_SCOPE.get(role) == ScopeLevel.REGION and not territories:
        errors["territories"] = _("A regional role sees its territories only; choose at least one.")
    if ROLE_SCOPE.get(role) == ScopeLevel.TEAM and team is None:
        errors["team"] = _("A team manager needs a team.")
    if any(division.level == DivisionLevel.DISTRICT for division in territories):
        errors["territories"] = _("Territories are provinces or cities.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        if user.role == Role.ADMIN and role != Role.ADMIN and not _other_active_admins(user):
            raise ValidationError({"role": _(
                "This is the last active administrator; make someone else administrator first.")})
        before = sorted(user.territories.values_list("pk", flat=True))
        after = sorted(division.pk for division in territories)
        # one entry for the whole change (role, team and territories): a territories-only change bumps the
        # version too, so older forms are stale
        audited_update(user, actor=actor, changes={"role": role, "team": team}, reason=reason,
                       expected_version=expected_version, extra_changes={"territories": [before, after]})
        _sync_user_group(user)
        if before != after:
            user.territories.set(territories)
    return user


def revoke_api_token(user: User) -> None:
    """Delete the user's API token (a password change or a deactivation ends it with the sessions)."""
    from rest_framework.authtoken.models import Token

    Token.objects.filter(user=user).delete()


def set_active(*, actor: Any, user: User, active: bool, reason: str) -> User:
    """Deactivate (or reactivate) an account. Deactivation ends every session of the user (the session
    generation is raised, so none revives at a reactivation: ASVS 7.4.2) and deletes their API token."""
    authorize(actor, "org.change_user")
    reason = _require_reason(reason)
    if not active and user.pk == getattr(actor, "pk", None):
        raise ValidationError({"reason": _("You cannot deactivate your own account.")})
    with transaction.atomic():
        if not active and user.role == Role.ADMIN and not _other_active_admins(user):
            raise ValidationError({"reason": _("This is the last active administrator; it cannot be deactivated.")})
        changes: dict[str, Any] = {"is_active": active}
        if not active:
            changes["session_generation"] = user.session_generation + 1
        audited_update(user, actor=actor, changes=changes, reason=reason)
        if not active:
            revoke_api_token(user)
    return user
