"""Every sample model is scoped: a rep sees their own, a manager their team's, a regional manager their region's,
head office and compliance everything; roles without the right see nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps

from pharmacrm.samples import services
from pharmacrm.samples.models import (
    Disbursement,
    Reconciliation,
    ReconciliationLine,
    SampleLot,
    StockBalance,
    StockMovement,
    StockTransfer,
)
from pharmacrm.samples.tests.factories import give, make_world

pytestmark = pytest.mark.django_db

HELD = (StockBalance, StockMovement, StockTransfer, Disbursement, Reconciliation, ReconciliationLine)


@pytest.fixture
def world(org: dict[str, Any]) -> dict[str, Any]:
    world = make_world(org)
    give(world, 2)
    services.submit_reconciliation(actor=world["rep"], counts=[{"lot": world["lot"], "counted": 18}])
    return world


@pytest.mark.parametrize("model", HELD, ids=lambda model: model.__name__)
def test_rep_sees_own_rows_only(org: dict[str, Any], world: dict[str, Any], model: type) -> None:
    assert model.objects.visible_to(org["rep_east"]).exists()
    assert not model.objects.visible_to(org["rep_west"]).exists()
    assert not model.objects.visible_to(world["academic"]).exists()  # a teammate: still another rep's stock
    assert model.objects.visible_to(org["manager_east"]).count() == model.objects.count()  # his team
    assert model.objects.visible_to(org["regional_east"]).count() == model.objects.count()  # Shanghai
    assert model.objects.visible_to(org["compliance"]).count() == model.objects.count()
    assert not model.objects.visible_to(org["steward"]).exists()  # no right to samples at all


def test_lots_are_the_company_s_and_need_the_right(org: dict[str, Any], world: dict[str, Any]) -> None:
    assert SampleLot.objects.visible_to(org["rep_west"]).count() == 2
    assert not SampleLot.objects.visible_to(org["steward"]).exists()


def test_another_team_s_manager_sees_nothing(org: dict[str, Any], world: dict[str, Any]) -> None:
    from conftest import DEMO_PASSWORD
    from pharmacrm.org.roles import Role
    from pharmacrm.org.services import create_user

    west_manager = create_user(actor=None, username="manager_west", full_name="西区经理", role=Role.MANAGER,
                               team=org["teams"]["west"], email="w@example.com", password=DEMO_PASSWORD)
    for model in HELD:
        assert not model.objects.visible_to(west_manager).exists()


@pytest.mark.parametrize("model", list(apps.get_app_config("samples").get_models()), ids=lambda model: model.__name__)
def test_every_samples_model_is_scoped_and_its_bulk_writes_guarded(model: type) -> None:
    from pharmacrm.core.querysets import AuditedQuerySet, is_scoped

    assert is_scoped(model)
    assert isinstance(model._default_manager.get_queryset(), AuditedQuerySet)
