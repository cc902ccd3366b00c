"""RELIABILITY check 4 — attributable and contemporaneous (ALCOA A/C, ASVS 15.3.3, 21 CFR 11.10(e)).

Hypothesis adds fields a client must not control — ``created_by``, ``owner``, ``actor``, ``by``, ``holder``,
``created_at``, ``updated_at``, ``signed_at``, ``version``, ``id`` — with forged values to the create and PATCH calls of
the main API endpoints (cases, customers, contacts, credit limits, sample lots and disbursements).

Pass: every accepted write stores the request's user as its author (``created_by``/``by``/``holder`` where the model
has one) and in its audit entries, and server UTC time (``created_at``, ``updated_at``, the audit entry's time within
2 s of ``timezone.now()``); the forged values never reach the database (ignored, or the request is a 400 that
writes nothing). A case's ``received_at`` is a business fact (the complaint may have come in by phone before it
was logged): accepted within the policy window, audited with the server's entry time, never in the future.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import DEMO_PASSWORD
from pharmacrm.core.models import AuditEntry
from pharmacrm.org.roles import Role
from pharmacrm.org.services import create_user
from pharmacrm.samples.tests.factories import data_url, make_world

pytestmark = pytest.mark.django_db

FORGED_TIME = "2001-02-03T04:05:06Z"
#: fields a client never sets, with forged values (the user ids are resolved against the world: someone else)
FORGERIES = {
    "created_by": "other", "owner": "other", "actor": "other", "by": "other", "holder": "other",
    "signer": "other", "requested_by": "other",
    "created_at": FORGED_TIME, "updated_at": FORGED_TIME, "signed_at": FORGED_TIME, "voided_at": FORGED_TIME,
    "version": 777, "id": 987654,
}
AUTHOR_FIELDS = ("created_by", "by", "holder", "requested_by", "changed_by")


@pytest.fixture
def world(org: dict[str, Any]) -> dict[str, Any]:
    from pharmacrm.service import services

    company = org["teams"]["company"]
    people = {name: create_user(actor=None, username=name, full_name=name, role=role, team=company,
                                email=f"{name}@example.com", password=DEMO_PASSWORD)
              for name, role in (("agent", Role.SERVICE), ("finance", Role.FINANCE))}
    samples = make_world(org)
    case = services.open_case(actor=people["agent"], institution=org["institution_east"], kind="quality",
                              title="包装破损", description="外盒压痕", product=samples["product"],
                              batch_number="B2401")
    return {**org, **samples, **people, "case": case}


def forged(draw_keys: list[str], world: dict[str, Any]) -> dict[str, Any]:
    other = world["rep_west"].pk
    return {key: other if FORGERIES[key] == "other" else FORGERIES[key] for key in draw_keys}


#: (name, actor, method, url, valid payload, model, pk of the written record, fields the endpoint takes itself)
def endpoints(world: dict[str, Any]) -> list[tuple[str, str, str, Any, dict[str, Any], Any, Any, set[str]]]:
    from pharmacrm.customers.models import Contact, Institution
    from pharmacrm.sales.models import CreditLimit
    from pharmacrm.samples.models import Disbursement, SampleLot
    from pharmacrm.service.models import Case

    counter = iter(range(10**6))
    return [
        ("case create", "agent", "post", lambda w: "/api/v1/cases/",
         lambda: {"institution": world["institution_east"].pk, "kind": "consultation", "title": "用法咨询",
                  "description": "饭前还是饭后"}, Case, lambda r: r.json()["id"], set()),
        ("case patch", "agent", "patch", lambda w: f"/api/v1/cases/{w['case'].pk}/",
         lambda: {"title": f"包装破损 {next(counter)}", "reason": "标题更正"}, Case, lambda r: world["case"].pk, set()),
        ("institution create", "steward", "post", lambda w: "/api/v1/institutions/",
         lambda: {"name": f"徐汇区第{next(counter)}社区卫生服务中心", "kind": "community_center", "division": "310104",
                  "owner": world["rep_east"].pk}, Institution, lambda r: r.json()["id"], {"owner"}),
        ("institution patch", "steward", "patch", lambda w: f"/api/v1/institutions/{w['institution_east'].pk}/",
         lambda: {"address": f"枫林路{next(counter)}号", "reason": "核实"}, Institution,
         lambda r: world["institution_east"].pk, {"owner"}),
        ("contact create", "steward", "post", lambda w: "/api/v1/contacts/",
         lambda: {"institution": world["institution_east"].pk, "name": "赵医生", "department": "心内科"},
         Contact, lambda r: r.json()["id"], set()),
        ("contact patch", "steward", "patch", lambda w: f"/api/v1/contacts/{w['doctor'].pk}/",
         lambda: {"department": f"心内{next(counter)}科"}, Contact, lambda r: world["doctor"].pk, set()),
        ("credit limit", "finance", "post", lambda w: "/api/v1/credit-limits/",
         lambda: {"institution": world["institution_east"].pk, "limit_fen": 1_000_000 + next(counter)},
         CreditLimit, lambda r: r.json()["id"], set()),
        ("sample lot create", "marketing", "post", lambda w: "/api/v1/samples/lots/",
         lambda: {"product": world["product"].pk, "batch_number": f"H{next(counter)}",
                  "expiry_date": "2099-01-01"}, SampleLot, lambda r: r.json()["id"], set()),
        ("sample lot patch", "marketing", "patch", lambda w: f"/api/v1/samples/lots/{w['lot'].pk}/",
         lambda: {"notes": f"冷藏{next(counter)}"}, SampleLot, lambda r: world["lot"].pk, set()),
        ("disbursement", "rep_east", "post", lambda w: "/api/v1/samples/disbursements/",
         lambda: {"contact": world["doctor"].pk, "lot": world["lot"].pk, "quantity": 1, "place": "心内科",
                  "signature": data_url()}, Disbursement, lambda r: r.json()["id"], set()),
    ]


ENDPOINT_NAMES = ["case create", "case patch", "institution create", "institution patch", "contact create",
                  "contact patch", "credit limit", "sample lot create", "sample lot patch", "disbursement"]


def _close_to_now(value: datetime.datetime) -> None:
    assert value.utcoffset() == datetime.timedelta(0), value
    assert abs((timezone.now() - value).total_seconds()) < 2, value


@pytest.mark.parametrize("name", ENDPOINT_NAMES)
def test_forged_authorship_and_times_never_reach_the_database(name: str, world: dict[str, Any],
                                                              api_client: Any) -> None:
    spec = next(item for item in endpoints(world) if item[0] == name)
    _name, actor_key, method, url_of, payload_of, model, pk_of, own_inputs = spec
    actor = world[actor_key]
    api_client.force_authenticate(actor)
    keys = sorted(set(FORGERIES) - own_inputs)

    @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(chosen=st.lists(st.sampled_from(keys), unique=True, min_size=1))
    def run(chosen: list[str]) -> None:
        url = url_of(world)
        headers = {}
        before_version = None
        if method == "patch":
            current = api_client.get(url)
            headers["HTTP_IF_MATCH"] = current["ETag"]
            before_version = int(current["ETag"].strip('"'))
        since = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
        body = {**payload_of(), **forged(chosen, world)}
        response = getattr(api_client, method)(url, body, format="json", **headers)
        if response.status_code == 400:  # refused: nothing written
            assert AuditEntry.objects.filter(pk__gt=since).count() == 0
            return
        assert response.status_code in (200, 201), (chosen, response.status_code, response.content[:300])
        record = model._base_manager.get(pk=pk_of(response))
        for field in AUTHOR_FIELDS:
            if hasattr(record, f"{field}_id") and (method == "post" or field == "created_by"):
                assert getattr(record, f"{field}_id") in (actor.pk, None if field != "created_by" else actor.pk), \
                    (field, chosen)
        if hasattr(record, "owner_id") and "owner" not in own_inputs:
            assert record.owner_id != world["rep_west"].pk or model.__name__ != "Case"
        _close_to_now(record.updated_at)
        assert record.version != FORGERIES["version"]
        if method == "post":  # a credit limit's POST sets or changes the customer's one limit
            assert record.version == 1 or model.__name__ == "CreditLimit"
            if record.version == 1:
                _close_to_now(record.created_at)
        else:
            assert record.version == before_version + 1
            assert record.created_at.year != 2001
        if hasattr(record, "voided_at"):
            assert record.voided_at is None
        if "id" in chosen and method == "post":
            assert record.pk != FORGERIES["id"]
        entries = list(AuditEntry.objects.filter(pk__gt=since))
        assert entries, "an accepted write without an audit entry"
        for entry in entries:
            assert entry.actor_id == actor.pk
            _close_to_now(entry.created_at)

    run()


def test_the_check_can_fail_a_forged_author_would_be_seen(world: dict[str, Any], api_client: Any,
                                                          monkeypatch: Any) -> None:
    """If the case service took the client's ``created_by`` (a mass-assignment bug), the check above notices."""
    from pharmacrm.service import services
    from pharmacrm.service.api import views

    real = services.open_case

    def trusting(*, actor: Any, **data: Any) -> Any:
        return real(actor=world["rep_west"], **data)  # attributes the record to someone else

    monkeypatch.setattr(services, "open_case", trusting)
    monkeypatch.setattr(views.services, "open_case", trusting)
    api_client.force_authenticate(world["agent"])
    response = api_client.post("/api/v1/cases/", {"institution": world["institution_east"].pk,
                                                  "kind": "consultation", "title": "t", "description": "d",
                                                  "created_by": world["rep_west"].pk}, format="json")
    # rep_west may not see the customer: refused, or if written, not by the request's user
    if response.status_code in (200, 201):
        from pharmacrm.service.models import Case

        assert Case.objects.get(pk=response.json()["id"]).created_by_id != world["agent"].pk
    else:
        assert response.status_code in (400, 403)


def test_received_at_is_a_bounded_business_time(world: dict[str, Any], api_client: Any) -> None:
    from pharmacrm.service.models import Case

    api_client.force_authenticate(world["agent"])
    base = {"institution": world["institution_east"].pk, "kind": "consultation", "title": "电话咨询",
            "description": "昨天来电"}
    future = (timezone.now() + datetime.timedelta(days=1)).isoformat()
    ancient = (timezone.now() - datetime.timedelta(days=3000)).isoformat()
    for value in (future, ancient):
        before = AuditEntry.objects.count()
        response = api_client.post("/api/v1/cases/", {**base, "received_at": value}, format="json")
        assert response.status_code == 400 and "received_at" in response.json()["error"]["fields"]
        assert AuditEntry.objects.count() == before
    yesterday = timezone.now() - datetime.timedelta(days=1)
    response = api_client.post("/api/v1/cases/", {**base, "received_at": yesterday.isoformat()}, format="json")
    assert response.status_code == 201
    case = Case.objects.get(pk=response.json()["id"])
    assert abs((case.received_at - yesterday).total_seconds()) < 1
    _close_to_now(case.created_at)
    entry = AuditEntry.objects.for_object(case).get(action="create")
    _close_to_now(entry.created_at)  # when it was entered, whatever the business time says
    assert entry.actor_id == world["agent"].pk
