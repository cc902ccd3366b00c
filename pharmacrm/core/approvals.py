"""Approvals with electronic signatures: the one mechanism behind every "needs sign-off" step.

``request_approval`` opens a request with one step per role; ``decide`` records
one step's decision under an electronic signature and, when the last step is
decided (or any step rejects), calls the completion handler registered for the
request's kind. Handlers are registered from the owning app's ``apps.py
ready()`` with ``register_handler`` — one greppable list, no signals.

Signatures follow 21 CFR 11.50/11.70/11.200 (RELIABILITY.md check 6): the signer
re-enters their password, the signature carries printed name, UTC time and a
meaning from a controlled list, and is bound to a sha256 of the signed record's
content, so a later edit of the record shows the signature as invalidated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pharmacrm.core import signatures
from pharmacrm.core.audit import audited_create, audited_update
from pharmacrm.core.models import ApprovalRequest, ApprovalStatus, ApprovalStep, AuditAction, SignatureMeaning
from pharmacrm.core.notifications import notify
from pharmacrm.core.signatures import (  # noqa: F401 (re-exported: approvals' signatures are core's)
    UNSIGNED_FIELDS,
    Continuity,
    SignatureRefused,
    SigningLocked,
    content_hash,
    signed_content,
)
from pharmacrm.core.signatures import verify as signature_is_valid  # noqa: F401
from pharmacrm.core.workflow import TransitionNotAllowed

Handler = Callable[[ApprovalRequest, Any], None]


# --- completion handlers: named-hook registry -----------------------------------------


@dataclass(frozen=True)
class CompletionHandlers:
    on_approved: Handler
    on_rejected: Handler


_HANDLERS: dict[str, CompletionHandlers] = {}


def register_handler(kind: str, on_approved: Handler, on_rejected: Handler) -> None:
    """Subscribe an app to the outcome of its approval kind (call from ``AppConfig.ready()``)."""
    existing = _HANDLERS.get(kind)
    if existing is not None and existing != CompletionHandlers(on_approved, on_rejected):
        raise ImproperlyConfigured(f"approval kind {kind!r} already has handlers")
    _HANDLERS[kind] = CompletionHandlers(on_approved, on_rejected)


def registered_kinds() -> list[str]:
    return sorted(_HANDLERS)


# --- reads --------------------------------------------------------------------------------


def awaiting_decision(user: Any) -> models.QuerySet[ApprovalRequest]:
    """Requests the user can decide now: current step for their role, not requested by themselves."""
    if not getattr(user, "is_authenticated", False):
        return ApprovalRequest.objects.none()
    return ApprovalRequest.objects.awaiting(user).exclude(requested_by=user)


def current_step(approval: ApprovalRequest) -> ApprovalStep | None:
    if approval.status != ApprovalStatus.PENDING:
        return None
    return approval.steps.filter(position=approval.current_position).first()


def can_decide(user: Any, approval: ApprovalRequest) -> bool:
    return _refusal(user, approval) is None


def _refusal(user: Any, approval: ApprovalRequest) -> str | None:
    """Why the user may not decide the request now (None = they may)."""
    if not (getattr(user, "is_authenticated", False) and user.is_active):
        return _("Sign in to decide.")
    step = current_step(approval)
    if step is None:
        return _("This request has already been decided.")
    if user.role != step.role:
        return _("Only a %(role)s can decide this step.") % {"role": step.role}
    if approval.requested_by_id == user.pk:
        return _("You cannot approve your own request.")
    return None


# --- writes -------------------------------------------------------------------------------


def _notify_role(approval: ApprovalRequest, role: str) -> None:
    title = _("Approval needed: %(title)s") % {"title": approval.title}
    for user in get_user_model().objects.filter(role=role, is_active=True).exclude(pk=approval.requested_by_id):
        notify(user, title, url=approval.get_absolute_url())


def request_approval(*, actor: Any, subject: models.Model, kind: str, title: str, roles: list[str]) -> ApprovalRequest:
    """Open an approval: one step per role, decided in order; the first role is notified."""
    if kind not in _HANDLERS:
        raise ImproperlyConfigured(f"no completion handler registered for approval kind {kind!r}")
    if not roles:
        raise ValueError("an approval needs at least one step")
    with transaction.atomic():
        approval = audited_create(
            ApprovalRequest, actor=actor, kind=kind, title=title[:200],
            subject_type=ContentType.objects.get_for_model(subject, for_concrete_model=False),
            subject_id=str(subject.pk), requested_by=actor,
        )
        for position, role in enumerate(roles, start=1):
            audited_create(ApprovalStep, actor=actor, request=approval, position=position, role=str(role))
        _notify_role(approval, roles[0])
    return approval


def decide(*, actor: Any, approval: ApprovalRequest, approve: bool, comment: str, password: str,
           meaning: str | None = None, username: str | None = None,
           continuity: Continuity | None = None) -> ApprovalRequest:
    """Decide the current step under an electronic signature, then advance or finish the request.

    Rules: the actor holds the step's role and did not request it; a rejection
    needs a comment; the signer re-authenticates through ``core.signatures`` (the password, and the username
    too at the first signing of a session: 11.200). On success the
    signature (printed name, meaning, UTC time, content hash) is stored, the
    step, signature and request changes are audited, and on completion the
    kind's handler runs in the same transaction.
    """
    comment = (comment or "").strip()
    meaning = meaning or (SignatureMeaning.APPROVAL if approve else SignatureMeaning.REJECTION)
    if meaning not in SignatureMeaning.values:
        raise ValidationError({"meaning": _("Unknown signature meaning.")})
    approval = ApprovalRequest.objects.get(pk=approval.pk)
    refusal = _refusal(actor, approval)
    if approval.status != ApprovalStatus.PENDING:
        raise TransitionNotAllowed(refusal)
    if refusal:
        raise PermissionDenied(refusal)
    if not approve and not comment:
        raise ValidationError({"comment": _("Give a reason for the rejection.")})
    # outside the atomic block: the failure entry must persist
    signatures.reauthenticate(actor=actor, password=password, username=username, continuity=continuity, obj=approval)

    with transaction.atomic():
        approval = ApprovalRequest.objects.select_for_update().get(pk=approval.pk)
        refusal = _refusal(actor, approval)  # re-checked under the lock: someone may have decided meanwhile
        if refusal:
            raise TransitionNotAllowed(refusal)
        step = approval.steps.get(position=approval.current_position)
        subject = approval.subject
        if subject is None:
            raise TransitionNotAllowed(_("The record to approve no longer exists."))
        now = timezone.now()
        signature = signatures.record(actor=actor, obj=subject, meaning=meaning, reason=comment,
                                      continuity=continuity, approval=approval.pk)
        audited_update(step, actor=actor, reason=comment,
                       action=AuditAction.APPROVE if approve else AuditAction.REJECT,
                       changes={"decision": ApprovalStep.Decision.APPROVED if approve else ApprovalStep.Decision.REJECTED,
                                "decided_by": actor, "decided_at": now, "comment": comment, "signature": signature})
        next_step = approval.steps.filter(position__gt=step.position).order_by("position").first()
        if approve and next_step is not None:
            audited_update(approval, actor=actor, changes={"current_position": next_step.position})
            _notify_role(approval, next_step.role)
            return approval
        status = ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED
        audited_update(approval, actor=actor, reason=comment, action=AuditAction.TRANSITION,
                       changes={"status": status, "decided_at": now})
        handlers = _HANDLERS.get(approval.kind)
        if handlers is None:
            raise ImproperlyConfigured(f"no completion handler registered for approval kind {approval.kind!r}")
        (handlers.on_approved if approve else handlers.on_rejected)(approval, actor)
    return approval
