"""Account requests: a manager asks for a user account, an administrator signs it off.

The approval itself is ``core.approvals``; this module holds the request and
the two completion handlers registered for ``ACCOUNT_REQUEST_KIND`` in
``org.approvals`` (loaded from ``OrgConfig.ready()``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from pharmacrm.core.approvals import request_approval
from pharmacrm.core.audit import audited_create, log_event
from pharmacrm.core.models import ApprovalRequest, AuditAction
from pharmacrm.core.notifications import notify
from pharmacrm.core.workflow import advance
from pharmacrm.org.models import AccountRequest, Division, Team, User
from pharmacrm.org.roles import Role
from pharmacrm.org.scope import authorize
from pharmacrm.org.services import create_user, send_set_password_link

ACCOUNT_REQUEST_KIND = "org.account_request"
#: who signs an account request off, in order
APPROVER_ROLES = [Role.ADMIN]


def _validate_username(username: str) -> None:
    errors: list[str] = []
    try:
        User._meta.get_field("username").run_validators(username)
    except ValidationError as exc:
        errors += exc.messages
    if not username:
        errors.append(_("Enter a username."))
    elif User.objects.filter(username__iexact=username).exists():
        errors.append(_("A user with this username already exists."))
    elif AccountRequest.objects.filter(username__iexact=username, status=AccountRequest.Status.PENDING).exists():
        errors.append(_("An account request for this username is already waiting for approval."))
    if errors:
        raise ValidationError({"username": errors})


def request_account(*, actor: Any, username: str, full_name: str, email: str, role: str, team: Team,
                    territories: Iterable[Division], justification: str) -> AccountRequest:
    """Ask for a new user account; an administrator approves it with an electronic signature."""
    authorize(actor, "org.add_accountrequest")
    username = (username or "").strip()
    _validate_username(username)
    territories = list(territories or [])
    with transaction.atomic():
        account_request = audited_create(
            AccountRequest, actor=actor, username=username, full_name=full_name, email=email, role=role,
            team=team, justification=justification, requested_by=actor,
        )
        if territories:
            account_request.territories.set(territories)
            log_event(AuditAction.UPDATE, actor=actor, obj=account_request,
                      changes={"territories": [[], sorted(t.pk for t in territories)]})
        request_approval(
            actor=actor, subject=account_request, kind=ACCOUNT_REQUEST_KIND, roles=list(APPROVER_ROLES),
            title=_("New account: %(name)s (%(username)s)") % {"name": full_name, "username": username},
        )
    return account_request


def approval_of(account_request: AccountRequest) -> ApprovalRequest | None:
    content_type = ContentType.objects.get_for_model(AccountRequest)
    return (ApprovalRequest.objects.filter(kind=ACCOUNT_REQUEST_KIND, subject_type=content_type,
                                           subject_id=str(account_request.pk)).order_by("-id").first())


def _request_of(approval: ApprovalRequest) -> AccountRequest:
    return AccountRequest.objects.select_for_update().get(pk=approval.subject_id)


def on_approved(approval: ApprovalRequest, actor: Any) -> None:
    """The signed-off request becomes a user, without a usable password (they set one via reset)."""
    account_request = _request_of(approval)
    user = create_user(
        actor=actor, username=account_request.username, full_name=account_request.full_name,
        role=account_request.role, team=account_request.team, email=account_request.email, password=None,
        territories=list(account_request.territories.all()),
    )
    advance(account_request, to=AccountRequest.Status.APPROVED, actor=actor, changes={"created_user": user})
    if user.email:
        transaction.on_commit(lambda: send_set_password_link(user))
    notify(account_request.requested_by,
           _("Account approved: %(username)s") % {"username": account_request.username},
           url=account_request.get_absolute_url(), email=True)


def on_rejected(approval: ApprovalRequest, actor: Any) -> None:
    account_request = _request_of(approval)
    step = approval.steps.exclude(decision="").order_by("-position").first()
    reason = step.comment if step else ""
    advance(account_request, to=AccountRequest.Status.REJECTED, actor=actor, reason=reason)
    notify(account_request.requested_by,
           _("Account request rejected: %(username)s") % {"username": account_request.username},
           reason, url=account_request.get_absolute_url(), email=True)
