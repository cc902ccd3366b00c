"""Electronic signatures (21 CFR 11.50, 11.70, 11.200, 11.300(d); Annex 11 §14): one service for every signed record.

``sign`` re-authenticates the signer and stores a ``Signature`` — printed name, UTC time, a meaning from the
controlled list ``SignatureMeaning``, and the sha256 of the signed record's canonical content — with its audit
entry. ``verify`` tells whether a signature still stands for a record: it belongs to that record and the record
still has the content that was signed, so an edit after signing shows the signature invalid (re-sign required).

Re-authentication (11.200(a)(1)): the first signing after a login needs both components, username and password;
later signings in the same continuous session need the password only. Logout and the idle timeout end the
session (``org.middleware``), a new login starts a new one (``reset_continuity``). A request authenticated by an
API token has no continuous session: every signing through it gives both components.

Refusals are security events: a wrong or missing component writes a ``SIGN_FAILED`` audit entry that survives
the refusal; after ``AXES_FAILURE_LIMIT`` failures within ``AXES_COOLOFF_TIME`` (the login lockout's numbers)
signing is locked for the user, even with the right password, and ``signing_locked_out`` is sent once so that
the administrators are told (``org.handlers``).

Callers that sign as part of a larger change (``approvals.decide``) call ``reauthenticate`` before their
transaction (a failure entry must persist) and ``record`` inside it; others call ``sign``.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from pharmacrm.core.audit import audited_create, log_event, snapshot, to_jsonable
from pharmacrm.core.models import AuditAction, AuditEntry, Signature, SignatureMeaning

#: fields never part of the signed content: bookkeeping that changes on every save
UNSIGNED_FIELDS = ("version", "updated_at", "created_at")
#: where the session remembers that its user has signed with both components since the login
CONTINUITY_KEY = "esign_signed_in_session"

#: sent once when a user's signing is locked (args: user, ip_address); org tells the administrators
signing_locked_out = Signal()


class SignatureRefused(PermissionDenied):
    """A signature component was missing or wrong (→ 403, no signature, a security event)."""


class SigningLocked(SignatureRefused):
    """Too many failed signings: signing is locked for a while, whatever the password (→ 429)."""


class SignatureMismatch(ValidationError):
    """A signature presented for a record it does not belong to (→ 400)."""


# --- signed content ---------------------------------------------------------------------


def _unsigned_fields(model: type[models.Model]) -> set[str]:
    """Bookkeeping fields, the workflow's status field and fields a model declares outside its signed content."""
    excluded = set(UNSIGNED_FIELDS) | set(getattr(model, "signature_exclude", ()))
    machine = getattr(model, "workflow", None)
    if machine is not None:
        excluded.add(machine.field)
    return excluded


def signed_content(obj: models.Model) -> dict[str, Any]:
    """The record as the signer saw it: its field values (and many-to-many ids), canonical."""
    excluded = _unsigned_fields(type(obj))
    values = {name: value for name, value in snapshot(obj).items() if name not in excluded}
    for field in obj._meta.many_to_many:
        if field.name not in excluded:
            values[field.name] = sorted(to_jsonable(pk) for pk in getattr(obj, field.name).values_list("pk", flat=True))
    return {"model": obj._meta.label_lower, "pk": to_jsonable(obj.pk), "fields": values}


def content_hash(obj: models.Model) -> str:
    """sha256 of the canonical JSON of ``signed_content(obj)``."""
    canonical = json.dumps(signed_content(obj), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def belongs_to(signature: Signature, obj: models.Model) -> bool:
    content_type = ContentType.objects.get_for_model(obj, for_concrete_model=False)
    return signature.content_type_id == content_type.pk and signature.object_id == str(obj.pk)


def verify(signature: Signature, obj: models.Model | None = None) -> bool:
    """True while the signed record still has the content that was signed.

    With ``obj``, also require that the signature belongs to that record: a signature is never valid for
    another record (use ``check_belongs`` to refuse such a presentation with a 400).
    """
    if obj is not None and not belongs_to(signature, obj):
        return False
    model = signature.content_type.model_class()
    subject = model._base_manager.filter(pk=signature.object_id).first() if model else None
    if subject is None:
        return False
    return hmac.compare_digest(content_hash(subject), signature.content_hash)


def validity(signatures: Iterable[Signature]) -> dict[int, bool]:
    """``verify`` for a page of signatures: the signed records loaded once per kind, each hashed once."""
    signatures = list(signatures)
    wanted: dict[int, set[str]] = {}
    for signature in signatures:
        wanted.setdefault(signature.content_type_id, set()).add(signature.object_id)
    current: dict[tuple[int, str], str] = {}
    for content_type_id, object_ids in wanted.items():
        model = ContentType.objects.get_for_id(content_type_id).model_class()
        if model is None:
            continue
        for subject in model._base_manager.filter(pk__in=[model._meta.pk.to_python(pk) for pk in object_ids]):
            current[(content_type_id, str(subject.pk))] = content_hash(subject)
    return {signature.pk: hmac.compare_digest(current.get((signature.content_type_id, signature.object_id), ""),
                                              signature.content_hash) for signature in signatures}


def check_belongs(signature: Signature, obj: models.Model) -> None:
    """Refuse a signature presented for a record it was not given on (RELIABILITY.md check 6: replay → 400)."""
    if not belongs_to(signature, obj):
        raise SignatureMismatch({"signature": _("This signature belongs to another record.")})


def signatures_of(obj: models.Model) -> models.QuerySet[Signature]:
    """A record's signatures, newest first (the caller has checked the record is visible)."""
    content_type = ContentType.objects.get_for_model(obj, for_concrete_model=False)
    return Signature.objects.filter(content_type=content_type, object_id=str(obj.pk)).order_by("-signed_at", "-id")


def manifest(obj: models.Model) -> list[dict[str, Any]]:
    """Each signature of the record with whether it still stands; one hash of the record for all of them."""
    current = content_hash(obj)
    return [{"signature": signature, "valid": hmac.compare_digest(current, signature.content_hash)}
            for signature in signatures_of(obj).select_related("signer")]


def needs_signing(obj: models.Model) -> bool:
    """No signature, or the newest one no longer matches the record (edited after signing: re-sign)."""
    latest = signatures_of(obj).first()
    return latest is None or not hmac.compare_digest(content_hash(obj), latest.content_hash)


# --- session continuity (11.200(a)(1)) ---------------------------------------------------


@dataclass
class Continuity:
    """Where the signer stands in a continuous session: ``session`` is the login session the request is
    authenticated by, or None (an API token, no session) — then every signing gives both components."""

    session: Any = None

    def covers(self, actor: Any) -> bool:
        return self.session is not None and self.session.get(CONTINUITY_KEY) == actor.pk

    def mark(self, actor: Any) -> None:
        if self.session is not None:
            self.session[CONTINUITY_KEY] = actor.pk


def continuity_of(request: Any) -> Continuity:
    """The request's continuity: its session counts only when it is the signer's own login session."""
    session = getattr(request, "session", None)
    user = getattr(request, "user", None)
    if session is None or user is None or not user.is_authenticated:
        return Continuity(None)
    if session.get(SESSION_KEY) != str(user.pk) or getattr(request, "auth", None) is not None:
        return Continuity(None)  # a token-authenticated API call
    return Continuity(session)


def needs_username(request: Any) -> bool:
    """Whether the next signing in this request's session must give the username too."""
    return not continuity_of(request).covers(request.user)


def reset_continuity(session: Any) -> None:
    """A new login starts a new continuous session: its first signing gives both components again."""
    if session is not None:
        session.pop(CONTINUITY_KEY, None)


# --- lockout (11.300(d)) -------------------------------------------------------------------


def _window_start() -> datetime.datetime:
    return timezone.now() - datetime.timedelta(hours=settings.AXES_COOLOFF_TIME)


def recent_failures(actor: Any) -> int:
    """Failed signings of the user within the lockout window since their last successful signing."""
    since = _window_start()
    last_success = (AuditEntry.objects.filter(actor_id=actor.pk, action=AuditAction.SIGN, created_at__gte=since)
                    .order_by("-id").values_list("id", flat=True).first())
    failures = AuditEntry.objects.filter(actor_id=actor.pk, action=AuditAction.SIGN_FAILED, created_at__gte=since)
    if last_success is not None:
        failures = failures.filter(id__gt=last_success)
    return failures.count()


def is_locked(actor: Any) -> bool:
    return recent_failures(actor) >= settings.AXES_FAILURE_LIMIT


def _refuse(actor: Any, obj: models.Model | None, reason: str) -> None:
    with transaction.atomic():
        log_event(AuditAction.SIGN_FAILED, actor=actor, obj=obj, changes={"reason": reason})
    if recent_failures(actor) == settings.AXES_FAILURE_LIMIT:  # the failure that locks: tell once
        from pharmacrm.core.request_context import current_request_meta

        signing_locked_out.send(sender=Signature, user=actor, ip_address=current_request_meta().ip_address)
    raise SignatureRefused(_("The signature was refused: check your username and password; nothing was signed."))


# --- writes -----------------------------------------------------------------------------------


def reauthenticate(*, actor: Any, password: str, username: str | None = None,
                   continuity: Continuity | None = None, obj: models.Model | None = None) -> None:
    """Check the signer's components (call outside the signing transaction: a failure's entry must persist).

    ``continuity`` None is an in-process call (a job, a test) whose actor the code vouches for: the password
    is still checked, the username only when given. Pages and the API always pass ``continuity_of(request)``.
    """
    if not (getattr(actor, "is_authenticated", False) and actor.is_active):
        raise SignatureRefused(_("Sign in to sign."))
    if is_locked(actor):
        with transaction.atomic():
            log_event(AuditAction.SIGN_FAILED, actor=actor, obj=obj, changes={"reason": "locked"})
        raise SigningLocked(_("Too many failed signatures: signing is locked for %(minutes)d minutes.") % {
            "minutes": int(settings.AXES_COOLOFF_TIME * 60)})
    username_required = continuity is not None and not continuity.covers(actor)
    username = (username or "").strip()
    if username_required and not username:
        _refuse(actor, obj, "missing username")
    if username and not hmac.compare_digest(username.lower(), actor.get_username().lower()):
        _refuse(actor, obj, "wrong username")
    if not password:
        _refuse(actor, obj, "missing password")
    if not actor.check_password(password):
        _refuse(actor, obj, "wrong password")


def record(*, actor: Any, obj: models.Model, meaning: str, reason: str = "",
           continuity: Continuity | None = None, **audit: Any) -> Signature:
    """Store the signature of ``obj`` with its audit entry; call inside the caller's transaction, after
    ``reauthenticate``."""
    if meaning not in SignatureMeaning.values:
        raise ValidationError({"meaning": _("Unknown signature meaning.")})
    signature = audited_create(
        Signature, actor=actor, signer=actor, printed_name=actor.get_full_name() or actor.get_username(),
        meaning=meaning, signed_at=timezone.now(),
        content_type=ContentType.objects.get_for_model(obj, for_concrete_model=False), object_id=str(obj.pk),
        content_hash=content_hash(obj),
    )
    log_event(AuditAction.SIGN, actor=actor, obj=obj, reason=reason, changes={
        "signature": signature.pk, "meaning": meaning, "content_hash": signature.content_hash, **audit})
    if continuity is not None:
        continuity.mark(actor)
    return signature


def sign(*, actor: Any, obj: models.Model, meaning: str, password: str, username: str | None = None,
         continuity: Continuity | None = None, reason: str = "") -> Signature:
    """Sign ``obj`` under ``meaning``: re-authenticate, then store the signature bound to the record's content."""
    if meaning not in SignatureMeaning.values:
        raise ValidationError({"meaning": _("Unknown signature meaning.")})
    reauthenticate(actor=actor, password=password, username=username, continuity=continuity, obj=obj)
    with transaction.atomic():
        return record(actor=actor, obj=obj, meaning=meaning, reason=reason, continuity=continuity)
