"""The processes soak checks start: ``python -m soak.worker TASK '{"json": "args"}'``.

Each task sets Django up on the database its environment names (``PHARMACRM_VAR_DIR`` or ``DATABASE_URL``),
calls PharmaCRM's real services and prints one JSON line with what it did. The demo data provide the people
(``finance``, ``marketing``, ``rep_east``) and records.
"""

from __future__ import annotations

import collections
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

TASKS: dict[str, Callable[..., dict[str, Any]]] = {}


def task(function: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    TASKS[function.__name__] = function
    return function


def _setup(*, transaction_mode: str | None = None, isolation: str | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pharmacrm.settings")
    import django

    django.setup()
    from django.db import connection

    connection.close()
    if transaction_mode and connection.vendor == "sqlite":  # only the control runs override the production mode
        connection.settings_dict["OPTIONS"]["transaction_mode"] = transaction_mode
    if isolation and connection.vendor == "postgresql":
        import psycopg

        connection.settings_dict.setdefault("OPTIONS", {})["isolation_level"] = getattr(
            psycopg.IsolationLevel, isolation.upper())


def _wait(start_at: float | None) -> None:
    """All processes of a run start together, so they really contend."""
    if start_at:
        time.sleep(max(0.0, start_at - time.time()))


def _describe(error: BaseException) -> str:
    from pharmacrm.core.retry import sqlstate

    code = sqlstate(error)
    text = str(error).splitlines()[0][:80] if str(error) else ""
    return f"{type(error).__name__}[{code}]" if code else f"{type(error).__name__}: {text}"


def _people() -> dict[str, Any]:
    from pharmacrm.customers.models import Institution
    from pharmacrm.org.models import User
    from pharmacrm.samples.models import SampleLot
    from pharmacrm.samples.services import _expired

    users = {user.username: user for user in User.objects.filter(
        username__in=["finance", "marketing", "rep_east", "steward", "admin"])}
    institution = Institution.objects.visible_to(users["rep_east"]).order_by("pk").first()
    lot = next(lot for lot in SampleLot.objects.order_by("pk") if not _expired(lot))
    return {**users, "institution": institution, "lot": lot}


# --- #22, #25: increments of one credit limit and one stock balance -------------------------------------------


@task
def read_counters() -> dict[str, Any]:
    _setup()
    from pharmacrm.sales.models import CreditLimit
    from pharmacrm.samples.services import stock_of, verify_balances

    people = _people()
    limit = CreditLimit.objects.filter(institution=people["institution"]).values_list("limit_fen", flat=True).first()
    return {"credit_fen": limit or 0, "stock": stock_of(people["rep_east"], people["lot"]),
            "ledger_mismatches": len(verify_balances())}


@task
def increment(*, target: str, mode: str, n: int, start_at: float | None = None, isolation: str | None = None,
              transaction_mode: str | None = None) -> dict[str, Any]:
    """``n`` increments through the service layer; ``mode`` "naive" and "noretry" are the controls."""
    _setup(isolation=isolation, transaction_mode=transaction_mode)
    from pharmacrm.sales import orders
    from pharmacrm.sales.models import CreditLimit
    from pharmacrm.samples import services as samples

    people = _people()
    finance, institution = people["finance"], people["institution"]

    def credit_service() -> None:
        orders.adjust_credit_limit(actor=finance, institution=institution, by_fen=1, note="soak")

    def credit_noretry() -> None:
        orders.adjust_credit_limit.__wrapped__(actor=finance, institution=institution, by_fen=1, note="soak")

    def credit_naive() -> None:
        # what a form or a script computing the new value from what it read earlier would do
        current = CreditLimit.objects.filter(institution=institution).values_list("limit_fen", flat=True).first() or 0
        time.sleep(0.001)
        orders.set_credit_limit(actor=finance, institution=institution, limit_fen=current + 1, note="soak")

    def stock_service() -> None:
        samples.adjust_stock(actor=people["marketing"], holder=people["rep_east"], lot=people["lot"], quantity=1,
                             reason="soak")

    operation = {("credit", "service"): credit_service, ("credit", "noretry"): credit_noretry,
                 ("credit", "naive"): credit_naive, ("stock", "service"): stock_service}[(target, mode)]
    _wait(start_at)
    committed, errors = 0, collections.Counter()
    for _ in range(n):
        try:
            operation()
            committed += 1
        except Exception as error:  # noqa: BLE001 - counted, reported by the check
            errors[_describe(error)] += 1
    return {"committed": committed, "errors": dict(errors)}


# --- #24: read-then-write transactions ------------------------------------------------------------------------


@task
def read_then_write(*, n: int, start_at: float | None = None, transaction_mode: str | None = None) -> dict[str, Any]:
    """``n`` transactions that read first and then write through a service (stock adjustment or a call log)."""
    _setup(transaction_mode=transaction_mode)
    from django.db import transaction

    from pharmacrm.engagement.services import log_communication
    from pharmacrm.samples import services as samples
    from pharmacrm.samples.models import StockBalance

    people = _people()
    rep, lot, institution = people["rep_east"], people["lot"], people["institution"]
    _wait(start_at)
    committed, locked, errors = 0, 0, collections.Counter()
    waits: list[str] = []
    for number in range(n):
        began = time.monotonic()
        try:
            with transaction.atomic():
                StockBalance.objects.filter(holder=rep).count()  # the read
                if number % 2:
                    samples.adjust_stock(actor=people["marketing"], holder=rep, lot=lot, quantity=1, reason="soak")
                else:
                    log_communication(actor=rep, institution=institution, channel="phone", summary=f"soak {number}")
            committed += 1
        except Exception as error:  # noqa: BLE001
            if "database is locked" in str(error) or "database table is locked" in str(error):
                locked += 1
                if len(waits) < 3:
                    import traceback

                    where = traceback.extract_tb(error.__traceback__)
                    frames = [f"{frame.name}:{frame.lineno}" for frame in where if "site-packages" not in frame.filename]
                    waits.append(f"#{number} after {time.monotonic() - began:.1f} s in {' > '.join(frames[-3:])}")
            else:
                errors[_describe(error)] += 1
    return {"committed": committed, "locked": locked, "errors": dict(errors), "locked_at": waits}


# --- #26: writers while the backup runs -----------------------------------------------------------------------


@task
def write_until(*, stop_file: str, pause: float = 0.0) -> dict[str, Any]:
    """Log communications (insert-only: the record, its audit entry, the chain head) until ``stop_file`` exists."""
    _setup()
    from pharmacrm.engagement.services import log_communication

    people = _people()
    committed, errors = 0, collections.Counter()
    while not os.path.exists(stop_file):
        try:
            log_communication(actor=people["rep_east"], institution=people["institution"], channel="phone",
                              summary=f"backup drill {committed}")
            committed += 1
        except Exception as error:  # noqa: BLE001
            errors[_describe(error)] += 1
        if pause:
            time.sleep(pause)
    return {"committed": committed, "errors": dict(errors)}


# --- #28a: an import and a grading run that get killed --------------------------------------------------------


@task
def prepare_import(*, path: str) -> dict[str, Any]:
    """Upload and dry-run ``path`` as an all-or-nothing institution import; the job is left ready to commit."""
    _setup()
    from django.core.files.uploadedfile import SimpleUploadedFile

    from pharmacrm.core import imports
    from pharmacrm.core.models import ImportMode

    steward = _people()["steward"]
    with open(path, "rb") as handle:
        upload = SimpleUploadedFile(os.path.basename(path), handle.read(), "text/csv")
    job = imports.start(actor=steward, kind="customers.institution", upload=upload)
    job = imports.configure(actor=steward, job=job, mapping=job.mapping, mode=ImportMode.ALL_OR_NOTHING)
    job = imports.run(job.pk, commit=False)
    if job.error_rows:
        return {"job": job.pk, "error_rows": job.error_rows, "errors": job.errors[:3]}
    job = imports.commit(actor=steward, job=job)
    return {"job": job.pk, "error_rows": 0, "status": job.status}


@task
def run_import(*, job: int) -> dict[str, Any]:
    """The worker's side of the commit (``core.tasks.run_import``); prints progress so the check can kill it."""
    _setup()
    from pharmacrm.core import imports

    original = imports.set_progress

    def report(job_id: int, processed: int) -> None:
        original(job_id, processed)
        print(json.dumps({"progress": processed}), flush=True)

    imports.set_progress = report
    done = imports.run(job, commit=True)
    return {"status": done.status, "created": done.created_count}


@task
def rerun_import(*, job: int) -> dict[str, Any]:
    """What the page's "run again" does for an interrupted job, then the worker's run."""
    _setup()
    from pharmacrm.core import imports
    from pharmacrm.core.models import ImportJob

    imports.STALE_SECONDS = 0
    imports._enqueue = lambda job, commit: None  # the next call plays the worker
    steward = _people()["steward"]
    found = ImportJob.objects.get(pk=job)
    interrupted = imports.is_interrupted(found)
    imports.commit(actor=steward, job=found)
    done = imports.run(job, commit=True)
    return {"interrupted": interrupted, "status": done.status, "created": done.created_count}


@task
def grading_run(*, announce: bool = False) -> dict[str, Any]:
    """The nightly job: open a run and compute it (``grading.tasks.nightly_grading``)."""
    _setup()
    from pharmacrm.grading import engine, services
    from pharmacrm.grading.choices import RunKind

    if announce:  # tell the check when the write transaction has started, so it can kill us inside it
        original = engine.replace_rows

        def replace_rows(*args: Any, **kwargs: Any) -> Any:
            print(json.dumps({"writing": True}), flush=True)
            time.sleep(30)
            return original(*args, **kwargs)

        engine.replace_rows = replace_rows
    with services.computing():  # what grading.tasks.nightly_grading does
        run = services.execute(services.start_run(actor=None, kind=RunKind.NIGHTLY))
    return {"run": run.pk, "status": run.status, "customers": run.customers, "changes": run.changes}


def main() -> int:
    name, args = sys.argv[1], json.loads(sys.argv[2] if len(sys.argv) > 2 else "{}")
    result = TASKS[name](**args)
    print(json.dumps(result, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
