"""Content fixtures: marketing writes, compliance approves; a core customer in the east and one in the west, a
potential one in the east, each with doctors who did or did not consent to academic information."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from conftest import DEMO_PASSWORD
from pharmacrm.content import services
from pharmacrm.core.policy import today
from pharmacrm.customers import services as customers
from pharmacrm.grading.models import Classification

LONG_AGO = datetime.date(2024, 1, 1)


def classify(institution: Any, *, grade: str = "general", depth: str = "unknown", size: str = "small",
             tenure: str = "short") -> None:
    """A class row as a grading run leaves it (only the classes matter here)."""
    Classification.objects.create(
        institution=institution, run_id=1, as_of=today(), amount_12_fen=0, amount_prev_12_fen=0, lines_12=0,
        credit="B", volume_percentile=0, s_volume=0, s_growth=0, s_frequency=0, s_recency=0, s_tenure=0, s_credit=0,
        s_influence=0, grade=grade, depth=depth, size=size, tenure=tenure, grade_score=0, ka_score=0,
        size_rule_id=1, tenure_rule_id=1, depth_rule_id=1, grade_rule_id=1, ka_rule_id=1)


def doctor(org: dict[str, Any], institution: Any, name: str, *consents: tuple[str, str, Any]) -> Any:
    """A contact with consents given as (channel, purpose, granted_on)."""
    contact = customers.create_contact(actor=org["steward"], institution=institution, name=name)
    for channel, purpose, granted_on in consents:
        customers.record_consent(actor=org["steward"], contact=contact, channel=channel, purpose=purpose,
                                 granted_on=granted_on, evidence="签字同意书")
    return contact


@pytest.fixture
def people(org: dict[str, Any]) -> dict[str, Any]:
    from pharmacrm.org.models import Division
    from pharmacrm.org.roles import Role
    from pharmacrm.org.services import create_user

    org["marketing"] = create_user(actor=None, username="marketing", full_name="marketing", role=Role.MARKETING,
                                   team=org["teams"]["company"], email="marketing@example.com",
                                   password=DEMO_PASSWORD)
    org["potential_east"] = customers.create_institution(
        actor=org["steward"], name="徐汇区中心医院", kind="public_hospital", status="active",
        division=Division.objects.get(pk="310104"), owner=org["rep_east"])
    classify(org["institution_east"], depth="core", grade="premium")
    classify(org["institution_west"], depth="core", grade="premium")
    classify(org["potential_east"], depth="potential", grade="potential")
    return org


@pytest.fixture
def approved(people: dict[str, Any]) -> Any:
    item = services.save_item(actor=people["marketing"], kind="literature", title="SGLT2抑制剂心衰获益",
                              source="NEJM 2024;390:1-10", interpretation="射血分数保留的心衰患者同样获益。",
                              body="全文解读……")
    return services.approve_item(actor=people["compliance"], item=item)
