"""One state-machine mechanism for every workflow (orders, cases, approvals, contracts…).

A model declares its machine as data::

    class AccountRequest(BaseModel):
        workflow = StateMachine("status", [
            Transition("pending", "approved", permission="org.approve_accountrequest"),
            Transition("pending", "rejected", permission="org.approve_accountrequest", reason_required=True),
        ])

and every status change goes through ``advance(obj, to=…, actor=…)``, which
checks the transition is allowed, that the actor may make it and that its
guard passes, then writes the change and its audit entry in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.utils.translation import gettext as _

M = TypeVar("M", bound=models.Model)


class TransitionNotAllowed(Exception):
    """The record is not in a state from which the requested change is possible (→ 409)."""


@dataclass(frozen=True)
class Transition:
    source: str | Sequence[str]
    target: str
    #: "app.codename" the actor needs; None = anyone who may see the record
    permission: str | None = None
    #: callable(obj, actor) -> str | None; a returned message refuses the transition
    guard: Callable[[Any, Any], str | None] | None = None
    reason_required: bool = False

    def sources(self) -> tuple[str, ...]:
        return (self.source,) if isinstance(self.source, str) else tuple(self.source)


class StateMachine:
    def __init__(self, field: str, transitions: Sequence[Transition]):
        self.field = field
        self.transitions = list(transitions)

    def find(self, current: str, target: str) -> Transition | None:
        return next((t for t in self.transitions if t.target == target and current in t.sources()), None)

    def available(self, obj: Any, actor: Any) -> list[Transition]:
        """Transitions the actor could make now (for buttons in the UI)."""
        current = getattr(obj, self.field)
        return [
            t for t in self.transitions
            if current in t.sources()
            and (t.permission is None or actor.has_perm(t.permission))
            and (t.guard is None or t.guard(obj, actor) is None)
        ]


def advance(obj: M, *, to: str, actor: Any, reason: str = "", changes: dict[str, Any] | None = None) -> M:
    """Move ``obj`` to state ``to`` (plus optional field changes), audited as a transition."""
    from pharmacrm.core.audit import audited_update
    from pharmacrm.core.models import AuditAction

    machine: StateMachine = type(obj).workflow  # type: ignore[attr-defined]
    current = getattr(obj, machine.field)
    transition = machine.find(current, to)
    if transition is None:
        raise TransitionNotAllowed(
            _("Cannot change status from “%(current)s” to “%(target)s”.") % {"current": current, "target": to}
        )
    if transition.permission and not actor.has_perm(transition.permission):
        raise PermissionDenied(transition.permission)
    if transition.guard is not None:
        refusal = transition.guard(obj, actor)
        if refusal:
            raise TransitionNotAllowed(refusal)
    if transition.reason_required and not reason.strip():
        raise ValidationError({"reason": _("A reason is required for this change.")})
    return audited_update(obj, actor=actor, changes={machine.field: to, **(changes or {})}, reason=reason,
                          action=AuditAction.TRANSITION)
