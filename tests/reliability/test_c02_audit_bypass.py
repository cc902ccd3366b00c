"""RELIABILITY check 2 — audit bypass paths (ALCOA "complete"; 21 CFR 11.10(e); RELIABILITY pitfall 12).

Pass: every model of ours is audit-guarded — its default manager refuses ``update()``, ``delete()``,
``bulk_create`` and ``bulk_update`` outside the audited helpers, and a business record's own ``save()`` and
``delete()`` do too — or it is on a short, reasoned allowlist of derived and log tables. Every write path that is
not the API — the spreadsheet import (core.imports), the customer merge (customers.stewardship), the management
commands that write (seeds, refresh_purchase_months, rebuild_search_index, and the raw SQL behind them) — leaves an
audit entry for every row it changes in an audited table (compared row by row, before and after), or writes only
documented derived tables. Each guard is also switched off once to show the check would notice.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from typing import Any

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import models

from pharmacrm.core import querysets
from pharmacrm.core.audit import audited_bulk_update
from pharmacrm.core.models import AuditChainHead, AuditEntry, BaseModel
from pharmacrm.core.querysets import AuditedQuerySet, UnauditedBulkWrite

pytestmark = pytest.mark.django_db

#: tables not audited row by row, and why: each is recomputed from audited data or is a log of its own
DERIVED_OR_LOG = {
    "core.auditentry": "the audit trail itself: append-only (check 3)",
    "core.auditchainhead": "the chain's tip, written by core.audit with every entry",
    "core.workerheartbeat": "worker liveness for /healthz; no business data",
    "core.notification": "in-app messages and read receipts: a message log, not a record",
    "grading.classification": "each customer's classes, rewritten whole by the grading run from audited purchases "
                              "and rules; the run (grading.gradingrun) and each change (grading.gradechange) say why",
    "grading.gradechange": "the grading run's log of class changes, derived from its classifications",
    "engagement.cadencestatus": "contact cadence per customer, recomputed nightly from audited visits",
    "sales.purchasemonth": "monthly purchase totals, rebuilt by refresh_purchase_months from audited purchases",
    "sales.flowpendingrow": "flow-data rows waiting for a mapping: staging of an audited import job",
    "content.contentdelivery": "who a push reached: written with the audited push, whose entry records the count",
    "samples.stockbalance": "stock per holder and lot: the running sum of the audited ledger (samples.stockmovement)"
                            ", recomputable by samples.services.ledger_stock",
    "sales.purchase": "append-only purchase facts (distributor flow data, millions of rows): each names its "
                      "provenance — an audited import job or an audited shipment line — checked below",
}
#: models whose instance save()/delete() are not guarded (only their querysets are), and why
INSTANCE_WRITES_UNGUARDED = {
    "org.user": "Django's auth writes last_login and password hashes through save(); role, team and territory "
                "changes go through org.services (audited, check 1)",
    "org.division": "GB/T 2260 reference data, loaded by a data migration / load_divisions",
    "customers.tag": "tag names; a record's tags are audited on the record (extra_changes)",
    "sales.purchase": "purchase facts, written by audited imports in bulk (audited_bulk_create)",
    "samples.stockmovement": "ledger lines, inserted through audited_create / audited_bulk_create only",
    "samples.stockbalance": "the balance per holder and lot, kept by the ledger's own F() updates with the "
                            "movement's entry",
    "privacy.personaldataaccess": "the personal-data access log, a log of its own (check 9): rows are only inserted "
                                  "by privacy.services; the database refuses UPDATE and DELETE of rows under 180 days",
    "service.casearchive": "read-only: its save() refuses updates and delete() refuses; the insert is audited by "
                           "service.archive",
}
#: BaseModel subclasses whose rows are written directly (``audit_exempt``)
AUDIT_EXEMPT = {"core.notification"}

SKIPPED_IN_DIFF = {"core.auditentry", "core.auditchainhead"}


def our_models() -> list[type[models.Model]]:
    return [model for model in apps.get_models() if model.__module__.startswith("pharmacrm.")]


def guarded_models() -> list[type[models.Model]]:
    return [model for model in our_models() if model._meta.label_lower not in DERIVED_OR_LOG
            or isinstance(model._default_manager.get_queryset(), AuditedQuerySet)]


# --- every model, guarded or listed ---------------------------------------------------------------------------


@pytest.mark.parametrize("model", our_models(), ids=lambda model: model._meta.label_lower)
def test_every_model_is_audit_guarded_or_a_listed_derived_table(model: type[models.Model]) -> None:
    label = model._meta.label_lower
    queryset = model._default_manager.get_queryset()
    guarded = isinstance(queryset, AuditedQuerySet) or label == "core.auditentry"
    assert guarded or label in DERIVED_OR_LOG, f"{label}: update()/delete()/bulk_* would bypass the audit trail"
    if issubclass(model, BaseModel):
        assert model.audit_exempt == (label in AUDIT_EXEMPT), f"{label}: save()/delete() guard"


@pytest.mark.parametrize("model", guarded_models(), ids=lambda model: model._meta.label_lower)
@pytest.mark.parametrize("operation", ["update", "delete", "bulk_create", "bulk_update", "save", "instance_delete"])
def test_bulk_and_direct_writes_are_refused(model: type[models.Model], operation: str) -> None:
    label = model._meta.label_lower
    if operation in ("save", "instance_delete") and (not issubclass(model, BaseModel) or model.audit_exempt):
        # not business records with a version (divisions, tags, ledger lines, archives, the user table): their
        # querysets are guarded; their own save() is asserted below where it is guarded, else listed
        assert label in INSTANCE_WRITES_UNGUARDED or label in DERIVED_OR_LOG, f"{label}: instance writes"
        return
    manager = model._default_manager
    name = model._meta.pk.attname
    calls = {
        "update": lambda: manager.all().update(**{name: models.F(name)}),
        "delete": lambda: manager.all().delete(),
        "bulk_create": lambda: manager.bulk_create([]),
        "bulk_update": lambda: manager.bulk_update([], [model._meta.concrete_fields[-1].name]),
        "save": lambda: model().save(),
        "instance_delete": lambda: model(pk=1).delete(),
    }
    before = AuditEntry.objects.count()
    with pytest.raises((UnauditedBulkWrite, PermissionError)):
        calls[operation]()
    assert AuditEntry.objects.count() == before


# --- the row-by-row comparison -------------------------------------------------------------------------------


def table_state() -> dict[str, dict[str, str]]:
    """{model label: {pk: hash of the row}} for every table of ours but the audit trail."""
    state = {}
    for model in our_models():
        label = model._meta.label_lower
        if label in SKIPPED_IN_DIFF:
            continue
        columns = [field.attname for field in model._meta.concrete_fields]
        rows = model._base_manager.order_by().values_list(*columns)
        keys = [columns.index(field.attname) for field in getattr(model._meta.pk, "fields", [model._meta.pk])]
        state[label] = {(str(row[keys[0]]) if len(keys) == 1 else repr([row[index] for index in keys])):
                        hashlib.sha256(repr(row).encode()).hexdigest() for row in rows}
    return state


def unaudited_changes(before: dict[str, dict[str, str]], since: int) -> dict[str, set[str]]:
    """Rows added, changed or removed since ``before`` that no audit entry after ``since`` names, per table
    (derived and log tables left out)."""
    after = table_state()
    audited: dict[str, set[str]] = defaultdict(set)
    for content_type_id, object_id in AuditEntry.objects.filter(pk__gt=since).values_list("content_type_id",
                                                                                           "object_id"):
        if content_type_id:
            model = ContentType.objects.get_for_id(content_type_id).model_class()
            if model is not None:
                audited[model._meta.label_lower].add(object_id)
    missing = {}
    for label, rows in after.items():
        old = before.get(label, {})
        changed = {pk for pk in rows.keys() | old.keys() if rows.get(pk) != old.get(pk)}
        unaudited = changed - audited[label]
        if unaudited and label not in DERIVED_OR_LOG:
            missing[label] = unaudited
    return missing


def last_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def test_the_comparison_notices_an_unguarded_update(org: dict[str, Any], monkeypatch: Any) -> None:
    """Switch the guard off: a bulk update goes through, and the row-by-row comparison names it."""
    from pharmacrm.customers.models import Institution

    monkeypatch.setattr(querysets, "_refuse", lambda operation: None)
    before, since = table_state(), last_id()
    Institution.objects.filter(pk=org["institution_east"].pk).update(phone="021-64041990")
    assert unaudited_changes(before, since) == {"customers.institution": {str(org["institution_east"].pk)}}


def test_the_comparison_notices_raw_sql(org: dict[str, Any]) -> None:
    """Raw SQL skips every Python guard: only the comparison (and for the audit table, the trigger) sees it."""
    from django.db import connection

    from pharmacrm.customers.models import Institution

    before, since = table_state(), last_id()
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {Institution._meta.db_table} SET phone = %s WHERE id = %s",
                       ["021-64041991", org["institution_east"].pk])
    assert unaudited_changes(before, since) == {"customers.institution": {str(org["institution_east"].pk)}}


# --- the audited bulk helpers: entries == rows changed ----------------------------------------------------------


def test_audited_bulk_update_writes_one_entry_per_changed_row(org: dict[str, Any]) -> None:
    from pharmacrm.customers.models import Institution
    from pharmacrm.customers.services import update_institution

    update_institution(actor=org["steward"], institution=org["institution_west"],
                       changes={"phone": "028-85422114"}, reason="核实")
    before, since = table_state(), last_id()
    changed = audited_bulk_update(Institution.objects.filter(pk__in=[org["institution_east"].pk,
                                                                     org["institution_west"].pk]),
                                  actor=org["steward"], reason="统一号码", phone="028-85422114")
    assert changed == 1  # the west one had it already
    assert AuditEntry.objects.filter(pk__gt=since).count() == changed
    assert unaudited_changes(before, since) == {}


# --- the other write paths --------------------------------------------------------------------------------------


def test_spreadsheet_import_audits_every_row(org: dict[str, Any], django_capture_on_commit_callbacks: Any,
                                              monkeypatch: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from pharmacrm.core import imports, tasks
    from pharmacrm.core.models import ImportMode

    monkeypatch.setattr(tasks, "run_import", lambda job_id, commit: imports.run(job_id, commit=commit))
    header = "客户名称*,客户类型,省份,城市,区县,电话,负责代表"
    lines = [f"徐汇区社区卫生服务中心{i},社区卫生服务中心,上海市,上海市,徐汇区,021-6400000{i},rep_east"
             for i in range(3)]
    upload = SimpleUploadedFile("客户.csv", ("\n".join([header, *lines]) + "\n").encode(), "text/csv")
    steward = org["steward"]
    before, since = table_state(), last_id()
    job = imports.start(actor=steward, kind="customers.institution", upload=upload)
    with django_capture_on_commit_callbacks(execute=True):
        imports.configure(actor=steward, job=job, mapping=job.mapping, mode=ImportMode.ALL_OR_NOTHING)
    job.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        imports.commit(actor=steward, job=job)
    job.refresh_from_db()
    assert job.status == "done", (job.status, job.errors)
    created = AuditEntry.objects.filter(pk__gt=since, action="create",
                                        content_type__model="institution").count()
    assert created == 3
    assert unaudited_changes(before, since) == {}


def test_customer_merge_audits_every_moved_row(org: dict[str, Any]) -> None:
    from pharmacrm.customers import stewardship
    from pharmacrm.customers.services import create_contact, create_institution

    duplicate = create_institution(actor=org["steward"], name="中山医院", kind="public_hospital",
                                   hospital_grade="3A", status="active",
                                   division=org["institution_east"].division, owner=org["rep_east"],
                                   acknowledge_duplicates=True)
    for name in ("张医生", "刘医生"):
        create_contact(actor=org["steward"], institution=duplicate, name=name)
    before, since = table_state(), last_id()
    stewardship.merge(actor=org["steward"], survivor=org["institution_east"], duplicate=duplicate,
                      reason="同一家医院")
    assert unaudited_changes(before, since) == {}


#: the commands that write, in the order a demo database is built; each is compared row by row
WRITING_COMMANDS = [
    ("seed_demo", ["--scale", "12"]),
    ("seed_catalogue", []),
    ("seed_grading", []),
    ("seed_engagement", []),
    ("seed_samples", []),
    ("seed_service", []),
    ("seed_content", []),
    ("seed_surveys", []),
    ("refresh_purchase_months", []),
    ("rebuild_search_index", []),
]


@pytest.mark.slow  # every seed command
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_management_commands_audit_what_they_write_or_write_derived_tables() -> None:
    from tests.reliability.test_c25_jobs_and_migrations import ensure_reference_data

    ensure_reference_data()  # an earlier transactional test's flush emptied migration-loaded tables
    problems = {}
    for name, arguments in WRITING_COMMANDS:
        before, since = table_state(), last_id()
        call_command(name, *arguments, verbosity=0)
        missing = unaudited_changes(before, since)
        if missing:
            problems[name] = {label: sorted(pks)[:5] for label, pks in missing.items()}
    assert problems == {}
    # sales.purchase is listed because every fact carries its provenance: an audited import job or shipment line
    from pharmacrm.core.models import ImportJob
    from pharmacrm.sales.models import Purchase, ShipmentLine

    assert Purchase.objects.exists()
    assert not Purchase.objects.filter(import_job__isnull=True, shipment_line__isnull=True).exists()
    for model, column in ((ImportJob, "import_job_id"), (ShipmentLine, "shipment_line_id")):
        ids = {str(pk) for pk in Purchase.objects.exclude(**{column: None}).values_list(column, flat=True)}
        audited = set(AuditEntry.objects.filter(content_type=ContentType.objects.get_for_model(model),
                                                object_id__in=ids).values_list("object_id", flat=True))
        assert ids == audited, f"purchases from unaudited {model.__name__}s: {sorted(ids - audited)[:5]}"
    from pharmacrm.core.audit import verify_chain

    assert verify_chain().ok
    assert AuditChainHead.objects.get().entry_count == AuditEntry.objects.count()
