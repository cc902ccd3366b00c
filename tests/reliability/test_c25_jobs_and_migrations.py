"""RELIABILITY check 25, fast part — idempotent jobs, jobs enqueued on commit, migrations (ASVS 2.3.3, Annex 11
§10/§17). The PostgreSQL SERIALIZABLE retry part is in the soak run.

Pass: every background job (each app's ``tasks.py``: the huey periodic tasks and the queued ones) run twice on a
populated database creates nothing the second time (no table grows: a re-delivered job is harmless); jobs queued
from a request are queued with ``transaction.on_commit`` (nothing is queued while the transaction is open, and
nothing at all when it rolls back); ``makemigrations --check --dry-run`` exits 0; on a database with 10,000 audit
entries, migrating an app back a few migrations and forward again leaves the audit entry count, the chain and
its head unchanged (``verify_chain`` ok).
"""

from __future__ import annotations

import datetime
import importlib
from typing import Any

import pytest
import time_machine
from django.apps import apps
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from huey.api import PeriodicTask, TaskWrapper

from pharmacrm.core.audit import Change, append, verify_chain
from pharmacrm.core.models import AuditChainHead, AuditEntry

APPS_WITH_JOBS = [config.name for config in apps.get_app_configs() if config.name.startswith("pharmacrm.")]


def all_tasks() -> dict[str, TaskWrapper]:
    found = {}
    for app in APPS_WITH_JOBS:
        try:
            module = importlib.import_module(f"{app}.tasks")
        except ModuleNotFoundError:
            continue
        for name, value in vars(module).items():
            if isinstance(value, TaskWrapper):
                found[f"{app.rsplit('.', 1)[-1]}.{name}"] = value
    return found


def periodic_tasks() -> dict[str, TaskWrapper]:
    return {name: task for name, task in all_tasks().items() if issubclass(task.task_class, PeriodicTask)}


def row_counts() -> dict[str, int]:
    return {model._meta.label_lower: model._base_manager.count() for model in apps.get_models()
            if model.__module__.startswith("pharmacrm.")}


def ensure_reference_data() -> None:
    """What migrations load (divisions, role groups, the first grading rules), back after a transactional test's
    flush emptied the tables."""
    from django.contrib.auth.models import Group
    from django.core.management.sql import emit_post_migrate_signal

    from pharmacrm.core.querysets import allow_bulk_writes
    from pharmacrm.org.divisions import load_divisions
    from pharmacrm.org.models import Division

    if not Division.objects.exists():  # a transactional test's flush emptied migration-loaded tables
        with allow_bulk_writes():
            load_divisions(Division)
    if not Group.objects.filter(permissions__isnull=False).exists():
        emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    from pharmacrm.grading.models import RuleVersion

    if not RuleVersion.objects.exists():
        first_rules = importlib.import_module("pharmacrm.grading.migrations.0002_first_rules_and_strategies")
        by_type = importlib.import_module("pharmacrm.grading.migrations.0003_strategies_by_customer_type")
        with allow_bulk_writes():
            first_rules.forwards(apps, None)
            by_type.forwards(apps, None)


def test_every_periodic_job_is_known() -> None:
    """A new periodic job fails here until it is listed (and so run twice below)."""
    assert set(periodic_tasks()) == {
        "core.worker_heartbeat", "core.daily_digest", "customers.licence_expiry_alerts", "engagement.special_visits",
        "engagement.care_reminders", "engagement.cadence_all", "grading.nightly_grading",
        "samples.stock_count_reminders", "service.check_clocks", "service.retention_review",
        "privacy.purge_inactive_contacts", "privacy.purge_access_log"}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_each_job_run_twice_creates_nothing_the_second_time() -> None:
    ensure_reference_data()
    for name, arguments in (("seed_demo", ["--scale", "12"]), ("seed_catalogue", []), ("seed_grading", []),
                            ("seed_engagement", []), ("seed_samples", []), ("seed_service", []),
                            ("seed_content", []), ("seed_surveys", [])):
        call_command(name, *arguments, verbosity=0)
    from pharmacrm.core import policy

    digest_hour = int(policy.get("notifications.digest_hour"))
    later = timezone.localtime(timezone.now() + datetime.timedelta(days=3)).replace(hour=digest_hour, minute=5)
    grown = {}
    with time_machine.travel(later, tick=False):
        for name, task in sorted(periodic_tasks().items()):
            task.call_local()
            first = row_counts()
            task.call_local()
            second = row_counts()
            more = {label: second[label] - first[label] for label in second if second[label] != first[label]}
            if more:
                grown[name] = more
    assert grown == {}
    assert verify_chain().ok


@pytest.mark.django_db
def test_queued_jobs_run_twice_do_nothing_the_second_time(org: dict[str, Any],
                                                          django_capture_on_commit_callbacks: Any,
                                                          monkeypatch: Any) -> None:
    from pharmacrm.grading import services, tasks
    from pharmacrm.grading.models import GradingRun

    with django_capture_on_commit_callbacks(execute=False):
        run = services.start_run(actor=None, kind="nightly")
    services.execute(run)
    before = row_counts()
    tasks.run_grading.call_local(run.pk)  # delivered again
    assert row_counts() == before
    assert GradingRun.objects.get(pk=run.pk).status == "done"


@pytest.mark.django_db
def test_jobs_are_queued_on_commit(org: dict[str, Any], django_capture_on_commit_callbacks: Any,
                                   monkeypatch: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from pharmacrm.core import imports
    from pharmacrm.core import tasks as core_tasks
    from pharmacrm.core.models import ImportMode
    from pharmacrm.grading import services
    from pharmacrm.grading import tasks as grading_tasks
    from pharmacrm.grading.models import GradingRun
    from pharmacrm.org.roles import Role
    from pharmacrm.org.services import create_user

    queued: list[tuple[str, Any]] = []
    monkeypatch.setattr(core_tasks, "run_import", lambda *args: queued.append(("import", args)))
    monkeypatch.setattr(grading_tasks, "run_grading", lambda *args: queued.append(("grading", args)))
    monkeypatch.setattr(imports, "run_import", lambda *args: queued.append(("import", args)), raising=False)
    steward = org["steward"]
    upload = SimpleUploadedFile("客户.csv", "客户名称*,客户类型\n测试药房,单体药店\n".encode(), "text/csv")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = imports.start(actor=steward, kind="customers.institution", upload=upload)
        imports.configure(actor=steward, job=job, mapping=job.mapping, mode=ImportMode.ALL_OR_NOTHING)
        assert queued == []  # nothing queued while the transaction is open
    assert callbacks and queued == []
    for callback in callbacks:
        callback()
    assert [kind for kind, _args in queued] == ["import"]

    marketing = create_user(actor=None, username="marketing", full_name="m", role=Role.MARKETING,
                            team=org["teams"]["company"], email="m@example.com", password="pharmacrm-demo")
    queued.clear()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.request_run(actor=marketing)
        assert queued == []
    for callback in callbacks:
        callback()
    assert [kind for kind, _args in queued] == ["grading"]
    services.execute(GradingRun.objects.get(pk=queued[0][1][0]))  # what the worker does

    queued.clear()  # a rolled-back request queues nothing
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                services.request_run(actor=marketing)
                raise RuntimeError("the request fails after queueing")
        except RuntimeError:
            pass
    assert queued == []


@pytest.mark.django_db
def test_migrations_are_complete() -> None:
    try:
        call_command("makemigrations", "--check", "--dry-run", verbosity=0)
    except SystemExit as exit_:
        pytest.fail(f"makemigrations --check exited {exit_.code}: a model change has no migration")


#: the app migrated back and forth, and how far back
MIGRATED_APP = "service"
BACK_TO = "0001_initial"


@pytest.mark.slow  # migrations round trip
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_migrating_back_and_forth_keeps_the_audit_trail() -> None:
    from django.db.migrations.executor import MigrationExecutor

    ensure_reference_data()
    with transaction.atomic():
        append([Change("update", None, {"n": [index, index + 1]}, object_repr=f"migration drill {index}")
                for index in range(10_000)])
    count = AuditEntry.objects.count()
    assert count >= 10_000
    head = AuditChainHead.objects.get()
    assert verify_chain().ok
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes(MIGRATED_APP)
    assert latest and latest[0][1] != BACK_TO
    executor.migrate([(MIGRATED_APP, BACK_TO)])
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(latest)
    assert AuditEntry.objects.count() == count
    assert AuditChainHead.objects.get().last_hash == head.last_hash
    report = verify_chain()
    assert report.ok and report.checked == count, report
