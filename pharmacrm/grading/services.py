"""Grading rules and runs: draft a version, preview it, submit it for leadership's approval, run the grading.

A rule change goes draft → previewed → submitted (an approval request for leadership, core.approvals) →
published or rejected. A published version takes effect from its effective date in the next run;
it is never edited — the next change is the next version.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from pharmacrm.core import policy
from pharmacrm.core.approvals import register_handler, request_approval
from pharmacrm.core.audit import audited_create, audited_update
from pharmacrm.core.models import ApprovalRequest, AuditAction
from pharmacrm.core.notifications import notify
from pharmacrm.core.querysets import allow_bulk_writes
from pharmacrm.core.workflow import TransitionNotAllowed
from pharmacrm.grading import engine, rules
from pharmacrm.grading.choices import Dimension, RunKind, RunStatus, VersionStatus
from pharmacrm.grading.models import GradingRun, RuleVersion, Strategy
from pharmacrm.org.roles import Role
from pharmacrm.org.scope import authorize

APPROVAL_KIND = "grading.rules"
#: a run still marked running after this long died with its worker and no longer blocks a new one
STALE_RUN_HOURS = 6
#: an on-demand run waits in the queue before a worker computes it; within this time it is not taken for dead
QUEUED_RUN_MINUTES = 10
#: the PostgreSQL advisory-lock key held while a run is computed (any number unique in the app)
COMPUTING_LOCK_KEY = 0x67726164  # "grad"
#: how often drafting retries when another draft of the dimension took the number it chose
DRAFT_ATTEMPTS = 3


def register_approval() -> None:
    register_handler(APPROVAL_KIND, on_approved=on_approved, on_rejected=on_rejected)


def _check_date(effective_from: Any) -> datetime.date:
    if not isinstance(effective_from, datetime.date):
        raise ValidationError({"effective_from": _("Enter a valid date.")})
    if effective_from < policy.today():
        raise ValidationError({"effective_from": _("A rule cannot take effect in the past.")})
    return effective_from


def draft_version(*, actor: Any, dimension: str, parameters: dict[str, Any], effective_from: datetime.date,
                  note: str = "") -> RuleVersion:
    """A new draft of ``dimension``'s rules (every parameter checked; the next version number)."""
    authorize(actor, "grading.add_ruleversion")
    if dimension not in Dimension.values:
        raise ValidationError({"dimension": _("Unknown dimension.")})
    values = rules.validate(dimension, parameters)
    effective_from = _check_date(effective_from)
    for _attempt in range(DRAFT_ATTEMPTS):
        # two drafts of one dimension at the same moment (PostgreSQL) may take the same number: the loser of
        # the unique constraint takes the next one
        try:
            with transaction.atomic():
                last = RuleVersion.objects.filter(dimension=dimension).aggregate(number=Max("number"))["number"] or 0
                return audited_create(RuleVersion, actor=actor, dimension=dimension, number=last + 1,
                                      effective_from=effective_from, parameters=values,
                                      note=(note or "").strip()[:500], created_by=actor)
        except IntegrityError:
            continue
        except ValidationError as error:  # the other draft committed before this one was checked
            if not _number_taken(error):
                raise
    raise ValidationError(_("Another version of these rules was being drafted at the same time: try again."))


def _number_taken(error: ValidationError) -> bool:
    return any(item.code == "unique_together" for item in getattr(error, "error_dict", {}).get("__all__", ()))


def _draft(version: RuleVersion) -> RuleVersion:
    locked = RuleVersion.objects.select_for_update().get(pk=version.pk)
    if locked.status != VersionStatus.DRAFT:
        raise TransitionNotAllowed(_("Only a draft can be changed."))
    return locked


def update_draft(*, actor: Any, version: RuleVersion, parameters: dict[str, Any], effective_from: datetime.date,
                 note: str = "", expected_version: int | None = None) -> RuleVersion:
    """Change a draft; its preview no longer holds and is dropped."""
    authorize(actor, "grading.change_ruleversion")
    values = rules.validate(version.dimension, parameters)
    effective_from = _check_date(effective_from)
    with transaction.atomic():
        locked = _draft(version)
        return audited_update(locked, actor=actor, expected_version=expected_version, changes={
            "parameters": values, "effective_from": effective_from, "note": (note or "").strip()[:500],
            "preview": None})


def preview_version(*, actor: Any, version: RuleVersion) -> RuleVersion:
    """Count what the draft would change (``engine.preview``) and keep the result on the draft."""
    authorize(actor, "grading.change_ruleversion")
    try:
        result = engine.preview(version)
    except LookupError as error:
        raise ValidationError({"__all__": str(error)}) from error
    with transaction.atomic():
        locked = _draft(version)
        RuleVersion.objects.filter(pk=locked.pk).update_derived(preview=result)
    version.refresh_from_db()
    return version


def submit_version(*, actor: Any, version: RuleVersion) -> RuleVersion:
    """Ask leadership to approve a previewed draft (marketing publishes with leadership's approval)."""
    authorize(actor, "grading.change_ruleversion")
    with transaction.atomic():
        locked = _draft(version)
        if locked.preview is None:
            raise ValidationError({"__all__": _("Preview the draft first: approvers decide on what it changes.")})
        approval = request_approval(actor=actor, subject=locked, kind=APPROVAL_KIND, roles=[Role.LEADER],
                                    title=_("Grading rules: %(version)s") % {"version": locked})
        return audited_update(locked, actor=actor, action=AuditAction.TRANSITION,
                              changes={"status": VersionStatus.PENDING, "approval": approval})


def on_approved(approval: ApprovalRequest, actor: Any) -> None:
    version = RuleVersion.objects.select_for_update().get(pk=approval.subject_id)
    audited_update(version, actor=actor, action=AuditAction.TRANSITION,
                   changes={"status": VersionStatus.PUBLISHED, "published_at": timezone.now()})
    if version.created_by is not None:
        notify(version.created_by, _("%(version)s published; in force from %(date)s.")
               % {"version": version, "date": version.effective_from.isoformat()}, url=version.get_absolute_url())


def on_rejected(approval: ApprovalRequest, actor: Any) -> None:
    version = RuleVersion.objects.select_for_update().get(pk=approval.subject_id)
    audited_update(version, actor=actor, action=AuditAction.TRANSITION, changes={"status": VersionStatus.REJECTED})
    if version.created_by is not None:
        notify(version.created_by, _("%(version)s was not approved.") % {"version": version},
               url=version.get_absolute_url())


# --- runs ----------------------------------------------------------------------------------------------


_computing = threading.local()


def lock_path() -> Path:
    """SQLite: the file beside the database whose ``flock`` says a run is being computed on that database."""
    return Path(f"{connection.settings_dict['NAME']}-grading.lock")


@contextlib.contextmanager
def computing(*, wait: bool = True) -> Iterator[bool]:
    """Hold the "a run is being computed" lock; yields False when ``wait`` is off and someone else holds it.

    The operating system drops the lock with the process that holds it (PostgreSQL: a session advisory lock;
    SQLite, whose users share one host: ``flock`` on a file beside the database), so a run whose worker was
    killed (kill -9, out of memory, a reboot) is known to be dead at once (RELIABILITY.md #28a).
    Re-entrant within a process (the nightly job holds it across ``start_run`` and ``execute``).
    """
    depth = getattr(_computing, "depth", 0)
    if depth:
        _computing.depth = depth + 1
        try:
            yield True
        finally:
            _computing.depth -= 1
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)" if wait else "SELECT pg_try_advisory_lock(%s)",
                           [COMPUTING_LOCK_KEY])
            held = wait or bool(cursor.fetchone()[0])

        def release() -> None:
            if held:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [COMPUTING_LOCK_KEY])
    else:
        handle = open(lock_path(), "a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            held = True
        except BlockingIOError:
            held = False
        release = handle.close  # closing the file drops the lock
    if not held:
        release()  # nothing to release on PostgreSQL; closes the file on SQLite
        yield False
        return
    _computing.depth = 1
    try:
        yield True
    finally:
        _computing.depth = 0
        release()


def _interrupted(running: Any) -> list[int]:
    """Runs marked running whose computing process is gone: none holds the lock and the run is not waiting
    in the queue (a nightly run is computed by the process that opened it, so it never waits)."""
    with computing(wait=False) as free:
        if not free:
            return []
    queued_since = timezone.now() - datetime.timedelta(minutes=QUEUED_RUN_MINUTES)
    return [run.pk for run in running if run.kind == RunKind.NIGHTLY or run.created_at < queued_since]


def start_run(*, actor: Any | None, kind: str = RunKind.ON_DEMAND, as_of: datetime.date | None = None) -> GradingRun:
    """Open a run (the job computes it: ``execute``). On demand needs the right; the nightly job has no actor.

    A run left "running" by a worker that died is marked failed here, so the next run can start at once.
    """
    if actor is not None:
        authorize(actor, "grading.run_grading")
    elif kind != RunKind.NIGHTLY:
        raise PermissionDenied(_("Only the nightly job runs without a user."))
    as_of = as_of or policy.today()
    engine.in_force(as_of)  # refuse early when a dimension has no rules in force
    with transaction.atomic():
        recent = timezone.now() - datetime.timedelta(hours=STALE_RUN_HOURS)
        running = list(GradingRun.objects.select_for_update().filter(status=RunStatus.RUNNING, created_at__gte=recent))
        dead = _interrupted(running) if running else []
        if dead:
            with allow_bulk_writes():
                GradingRun.objects.filter(pk__in=dead).update(
                    status=RunStatus.FAILED, finished_at=timezone.now(),
                    error="interrupted: the process computing this run stopped before it finished")
        if len(dead) < len(running):
            raise ValidationError({"__all__": _("A grading run is already under way; wait for it to finish.")})
        return audited_create(GradingRun, actor=actor, kind=kind, as_of=as_of, started_by=actor)


def request_run(*, actor: Any) -> GradingRun:
    """A run started from a page or the API: opened now, computed by the worker once this commits."""
    from pharmacrm.grading import tasks  # the task module imports this one

    run = start_run(actor=actor)
    transaction.on_commit(lambda: tasks.run_grading(run.pk))
    return run


def execute(run: GradingRun) -> GradingRun:
    """Compute an open run, holding the computing lock; a run already done or failed is left as it is (a task
    delivered twice does nothing)."""
    with computing():
        current = GradingRun.objects.get(pk=run.pk)
        if current.status != RunStatus.RUNNING:
            return current
        return engine.run(run=current)


def nightly_run(as_of: datetime.date | None = None) -> GradingRun | None:
    """The nightly job's run for ``as_of`` (default today): one per day — None when it is done or under way."""
    as_of = as_of or policy.today()
    with computing():  # held from the opening of the run, so it is never taken for dead
        if GradingRun.objects.filter(kind=RunKind.NIGHTLY, as_of=as_of,
                                     status__in=(RunStatus.RUNNING, RunStatus.DONE)).exists():
            return None
        return execute(start_run(actor=None, kind=RunKind.NIGHTLY, as_of=as_of))


def update_strategy(*, actor: Any, strategy: Strategy, changes: dict[str, Any],
                    expected_version: int | None = None) -> Strategy:
    authorize(actor, "grading.change_strategy")
    allowed = {"visit_every_days", "contacts_per_month", "service_package", "content_cadence"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError({field: _("This field cannot be changed.") for field in sorted(unknown)})
    with transaction.atomic():
        locked = Strategy.objects.select_for_update().get(pk=strategy.pk)
        return audited_update(locked, actor=actor, changes=changes, expected_version=expected_version)
