"""Survey fixtures on top of the service desk's (``desk``): marketing, doctors with or without consent to
surveys, and a closed case of rep_east's customer whose contact consented to surveys on WeChat."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from conftest import DEMO_PASSWORD
from pharmacrm.customers import services as customers
from pharmacrm.service import services as service
from pharmacrm.service.choices import CaseStatus
from pharmacrm.service.tests.conftest import desk  # noqa: F401  (fixture)

LONG_AGO = datetime.date(2024, 1, 1)


def doctor(org: dict[str, Any], institution: Any, name: str, *consents: tuple[str, str], email: str = "") -> Any:
    """A contact with consents given as (channel, purpose), granted long ago."""
    contact = customers.create_contact(actor=org["steward"], institution=institution, name=name, email=email)
    for channel, purpose in consents:
        customers.record_consent(actor=org["steward"], contact=contact, channel=channel, purpose=purpose,
                                 granted_on=LONG_AGO, evidence="签字同意书")
    return contact


def close_case(desk: dict[str, Any], contact: Any = None, **extra: Any) -> Any:  # noqa: F811
    """A consultation about the product taken from received to closed by the service desk agent."""
    agent = desk["agent"]
    case = service.open_case(actor=agent, institution=extra.pop("institution", desk["institution_east"]),
                             kind="consultation", title=extra.pop("title", "产品说明书咨询"),
                             description="询问说明书中的储存条件", contact=contact, product=desk["product"],
                             owner=agent, **extra)
    case = service.respond(actor=agent, case=case)
    case = service.move(actor=agent, case=case, to=CaseStatus.RESOLVED, solution="已电话解答")
    case = service.move(actor=agent, case=case, to=CaseStatus.CONFIRMED)
    return service.move(actor=agent, case=case, to=CaseStatus.CLOSED)


@pytest.fixture
def survey(desk: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    from pharmacrm.org.roles import Role
    from pharmacrm.org.services import create_user

    desk["marketing"] = create_user(actor=None, username="marketing", full_name="marketing", role=Role.MARKETING,
                                    team=desk["teams"]["company"], email="marketing@example.com",
                                    password=DEMO_PASSWORD)
    desk["doctor_east"] = doctor(desk, desk["institution_east"], "王明医生", ("wechat", "survey"))
    desk["doctor_west"] = doctor(desk, desk["institution_west"], "李华医生", ("wechat", "survey"))
    return desk
