"""The retention backfill of migration 0003 (cases logged before voiding and retention existed): the same date the
service computes for a new case — batch expiry from sample lots, or the received date alone."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from pharmacrm.samples.tests.factories import make_world
from pharmacrm.service import services
from pharmacrm.service.models import Case
from pharmacrm.service.retention import retention_date


@pytest.mark.slow  # migrations round trip
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_backfill_gives_every_existing_case_its_retention_date(org: dict[str, Any]) -> None:
    from django.utils import timezone

    from pharmacrm.core.policy import CHINA

    world = make_world(org)
    lot = world["lot"]
    cases = [services.open_case(actor=org["rep_east"], institution=org["institution_east"], kind="quality",
                                title=f"批号问题 {number}", description="药片变色", product=lot.product,
                                batch_number=batch)
             for number, batch in enumerate((lot.batch_number, "UNKNOWN-1", ""))]
    expected = {case.pk: Case.objects.get(pk=case.pk).retention_until for case in cases}
    assert expected[cases[0].pk] == retention_date(
        received_on=timezone.localtime(cases[0].received_at, CHINA).date(), expiry=lot.expiry_date, years=1)
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes("service")
    executor.migrate([("service", "0002_clock_order_indexes")])  # before retention existed
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(latest)  # the backfill runs
    assert {case.pk: Case.objects.get(pk=case.pk).retention_until for case in cases} == expected
