"""Check 13 — field-level authorisation / mass assignment (ASVS 8.2.3, 15.3.3).

Pass criterion (RELIABILITY.md): extra-field payloads (hypothesis) and explicit writes of ``owner``,
``territory``, ``credit_limit``, ``approved``, ``status``, ``role``, ``is_staff``, ``version``, ``created_by`` by
``rep_a`` leave the protected fields unchanged in the database (re-read), with a 400 or the field ignored; a credit
limit changes only through its audited path, by finance.

Two halves:

* every writable operation of the API (each POST/PUT/PATCH in the OpenAPI schema built from
  ``pharmacrm/api_urls.py``) is read for the fields its input accepts: no protected field may be writable unless
  it is on the reviewed list below, whose entries name the service that authorises it (and a test here shows
  rep_a refused);
* rep_a's writes on the endpoints a rep uses, with every protected field injected and with hypothesis' extra
  fields: after each request the record is read back — an edit keeps its protected values, a creation gets the
  same protected values as the control creation made without them.

Each guard is switched off once to show that the check notices.
"""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import models
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import DEMO_PASSWORD
from pharmacrm.core.models import AuditAction, AuditEntry
from tests.reliability import schema as openapi

pytestmark = pytest.mark.django_db

#: fields no rep may set through the API (the request names, and model columns they would land in)
PROTECTED = ("owner", "territory", "territories", "team", "credit_limit", "limit_fen", "approved", "approved_by",
             "status", "role", "is_staff", "is_superuser", "is_active", "version", "created_by", "reviewed_by",
             "signer", "decided_by")

#: (method, path, field) writable on purpose — each authorised by the service named, and refused to a rep below
REVIEWED_WRITABLE = {
    ("POST", "/api/v1/institutions/", "owner"): "customers.services._default_owner: a rep creates only own customers",
    ("POST", "/api/v1/customers/", "owner"): "same service as /institutions/",
    ("PATCH", "/api/v1/institutions/{id}/", "owner"): "update_institution: managers and stewards only reassign",
    ("PATCH", "/api/v1/customers/{id}/", "owner"): "same service as /institutions/",
    ("POST", "/api/v1/institutions/", "status"): "status is a locked field: a rep's value goes to a change request",
    ("POST", "/api/v1/customers/", "status"): "same service as /institutions/",
    ("PATCH", "/api/v1/institutions/{id}/", "status"): "locked field: a rep's change becomes a change request",
    ("PATCH", "/api/v1/customers/{id}/", "status"): "same service as /institutions/",
    ("PATCH", "/api/v1/institutions/{id}/", "version"): "optimistic locking: compared, never stored",
    ("PATCH", "/api/v1/customers/{id}/", "version"): "optimistic locking: compared, never stored",
    ("POST", "/api/v1/institutions/", "version"): "ignored on create (a new record starts at 1)",
    ("POST", "/api/v1/customers/", "version"): "ignored on create (a new record starts at 1)",
    ("POST", "/api/v1/contacts/", "version"): "ignored on create (a new record starts at 1)",
    ("PATCH", "/api/v1/contacts/{id}/", "version"): "optimistic locking: compared, never stored",
    ("PUT", "/api/v1/saved-filters/{id}/", "version"): "optimistic locking: compared, never stored",
    ("PATCH", "/api/v1/saved-filters/{id}/", "version"): "optimistic locking: compared, never stored",
    ("POST", "/api/v1/users/{id}/assignment/", "role"): "org.services.update_assignment: org.change_user (admin)",
    ("POST", "/api/v1/users/{id}/assignment/", "team"): "org.services.update_assignment: org.change_user (admin)",
    ("POST", "/api/v1/users/{id}/assignment/", "territories"): "update_assignment: org.change_user (admin)",
    ("POST", "/api/v1/users/{id}/assignment/", "version"): "optimistic locking: compared, never stored",
    ("POST", "/api/v1/account-requests/", "role"): "org.account_requests: a request, granted by an admin's signature",
    ("POST", "/api/v1/account-requests/", "team"): "org.account_requests: a request, granted by an admin's signature",
    ("POST", "/api/v1/account-requests/", "territories"): "a request, granted by an admin's signature",
    ("POST", "/api/v1/credit-limits/", "limit_fen"): "sales.orders.set_credit_limit: finance only, audited",
    ("POST", "/api/v1/cases/{id}/reassign/", "owner"): "service.services.reassign: those who work the case",
    ("POST", "/api/v1/products/", "status"): "sales.services: catalogue upkeep (sales.add_product), not reps",
    ("PATCH", "/api/v1/products/{id}/", "status"): "sales.services: catalogue upkeep (sales.change_product)",
}


# --- 1. every writable operation, from the schema ---------------------------------------------------------------


def writable_protected_fields(schema: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(method, path, field) for each protected field a POST/PUT/PATCH operation accepts."""
    components = schema["components"]["schemas"]

    def fields(node: dict[str, Any]) -> set[str]:
        if "$ref" in node:
            return fields(components[node["$ref"].rsplit("/", 1)[1]])
        found = {name for name, spec in node.get("properties", {}).items() if not spec.get("readOnly")}
        for part in (*node.get("allOf", ()), *node.get("oneOf", ()), *node.get("anyOf", ())):
            found |= fields(part)
        return found

    hits = set()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method not in ("post", "put", "patch"):
                continue
            for content in operation.get("requestBody", {}).get("content", {}).values():
                hits |= {(method.upper(), path, name) for name in fields(content["schema"]) if name in PROTECTED}
    return hits


@pytest.fixture(scope="module")
def api_schema() -> dict[str, Any]:
    return openapi.api_schema()


def test_no_writable_operation_accepts_an_unreviewed_protected_field(api_schema: dict[str, Any]) -> None:
    operations = [(method, path) for path, ops in api_schema["paths"].items() for method in ops
                  if method in ("post", "put", "patch")]
    assert len(operations) > 80  # the whole router, not a part of it
    unreviewed = writable_protected_fields(api_schema) - set(REVIEWED_WRITABLE)
    assert unreviewed == set(), "protected fields writable through the API:\n" + "\n".join(map(str, unreviewed))


def test_schema_check_notices_a_protected_field_in_an_input(api_schema: dict[str, Any]) -> None:
    """Guard off: an input serializer that grows ``created_by`` is caught."""
    import copy

    schema = copy.deepcopy(api_schema)
    request = schema["paths"]["/api/v1/tasks/"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    target = schema["components"]["schemas"][request["$ref"].rsplit("/", 1)[1]]
    target["properties"]["created_by"] = {"type": "integer"}
    assert ("POST", "/api/v1/tasks/", "created_by") in writable_protected_fields(schema) - set(REVIEWED_WRITABLE)


# --- 2. rep_a's writes, read back ---------------------------------------------------------------------------------


@pytest.fixture
def world(org: dict[str, Any]) -> dict[str, Any]:
    from pharmacrm.customers import services as customers
    from pharmacrm.org.roles import Role
    from pharmacrm.org.services import create_user
    from pharmacrm.sales import services as sales

    finance = create_user(actor=None, username="finance", full_name="财务", role=Role.FINANCE,
                          team=org["teams"]["company"], email="finance@example.com", password=DEMO_PASSWORD)
    product = sales.create_product(
        actor=org["admin"], code="P001", generic_name="阿托伐他汀钙片", dosage_form="tablet", strength="20mg",
        pack="7片/盒", approval_number="国药准字H20051408", marketing_authorisation_holder="华康制药",
        therapeutic_area="cardiovascular", list_price_fen=3500, category="chemical")
    contact = customers.create_contact(actor=org["steward"], institution=org["institution_east"], name="樊嘉",
                                       department="肝外科")
    return {**org, "finance": finance, "product": product, "contact": contact}


def injected(world: dict[str, Any]) -> dict[str, Any]:
    """Every protected field with a value rep_a must not be able to give."""
    return {"owner": world["rep_west"].pk, "territory": "510100", "territories": ["510100"],
            "team": world["teams"]["west"].pk, "credit_limit": 10**9, "limit_fen": 10**9, "approved": True,
            "approved_by": world["admin"].pk, "status": "approved", "role": "admin", "is_staff": True,
            "is_superuser": True, "is_active": False, "version": 999, "created_by": world["rep_west"].pk,
            "reviewed_by": world["steward"].pk, "id": 424242, "created_at": "2001-01-01T00:00:00Z"}


def protected_values(obj: models.Model) -> dict[str, Any]:
    """The protected columns the record has (the ones a payload above could reach)."""
    names = {field.name: field.attname for field in obj._meta.concrete_fields}
    values = {name: getattr(obj, names[name]) for name in PROTECTED if name in names}
    for field in obj._meta.many_to_many:
        if field.name in PROTECTED:
            values[field.name] = sorted(getattr(obj, field.name).values_list("pk", flat=True))
    return values


_counter = itertools.count(1)


@dataclass(frozen=True)
class Write:
    """One writable endpoint as rep_a uses it: how to build its URL and a valid payload, and which record it
    writes (an existing one for an edit; for a creation, the model the response's id names)."""

    name: str
    method: str
    url: Callable[[dict[str, Any]], str]
    payload: Callable[[dict[str, Any], int], dict[str, Any]]
    target: Callable[[dict[str, Any]], models.Model] | None = None
    creates: Callable[[], type[models.Model]] | None = None
    #: refused to a rep whatever the payload (the attempt is still made, and the record read back)
    refused: bool = False


def _model(path: str) -> Callable[[], type[models.Model]]:
    def resolve() -> type[models.Model]:
        from django.apps import apps

        return apps.get_model(path)
    return resolve


def _soon(days: int = 3) -> str:
    return (datetime.date.today() + datetime.timedelta(days=days)).isoformat()


WRITES = [
    Write("institution edit", "patch", lambda w: f"/api/v1/institutions/{w['institution_east'].pk}/",
          lambda w, n: {"phone": f"021-641{n:05d}"}, target=lambda w: w["institution_east"]),
    Write("customer edit", "patch", lambda w: f"/api/v1/customers/{w['institution_east'].pk}/",
          lambda w, n: {"phone": f"021-640{n:05d}"}, target=lambda w: w["institution_east"]),
    Write("institution create", "post", lambda w: "/api/v1/institutions/",
          lambda w, n: {"name": f"徐汇康宁诊所{n}", "kind": "clinic", "division": "310104"},
          creates=_model("customers.Institution")),
    Write("contact create", "post", lambda w: "/api/v1/contacts/",
          lambda w, n: {"institution": w["institution_east"].pk, "name": f"王{n}医生", "department": "心内科"},
          creates=_model("customers.Contact")),
    Write("contact edit", "patch", lambda w: f"/api/v1/contacts/{w['contact'].pk}/",
          lambda w, n: {"department": f"肝外科{n}"}, target=lambda w: w["contact"]),
    Write("case create", "post", lambda w: "/api/v1/cases/",
          lambda w, n: {"institution": w["institution_east"].pk, "kind": "consultation", "title": f"咨询{n}",
                        "description": "用法用量"}, creates=_model("service.Case")),
    Write("visit create", "post", lambda w: "/api/v1/visits/",
          lambda w, n: {"institution": w["institution_east"].pk, "planned_for": f"{_soon()}T10:00:00+08:00",
                        "goal": f"拜访{n}"}, creates=_model("engagement.Visit")),
    Write("communication create", "post", lambda w: "/api/v1/communications/",
          lambda w, n: {"institution": w["institution_east"].pk, "channel": "phone", "summary": f"电话{n}"},
          creates=_model("engagement.Communication")),
    Write("task create", "post", lambda w: "/api/v1/tasks/",
          lambda w, n: {"institution": w["institution_east"].pk, "title": f"跟进{n}", "due_on": _soon()},
          creates=_model("engagement.FollowUp")),
    Write("saved filter create", "post", lambda w: "/api/v1/saved-filters/",
          lambda w, n: {"list_name": "customers:institution_list", "name": f"我的{n}", "querystring": "kind=clinic"},
          creates=_model("core.SavedFilter")),
    Write("order create", "post", lambda w: "/api/v1/orders/",
          lambda w, n: {"institution": w["institution_east"].pk, "lines": [{"product": w["product"].pk,
                                                                            "quantity": n}]},
          creates=_model("sales.Order")),
    Write("own assignment", "post", lambda w: f"/api/v1/users/{w['rep_east'].pk}/assignment/",
          lambda w, n: {"reason": "升职"}, target=lambda w: w["rep_east"], refused=True),
]


def _if_match(client: Any, url: str) -> dict[str, str]:
    """Edits send the version last read (check 23): a write is refused 428 without it, before any field check."""
    etag = client.get(url).headers.get("ETag")
    return {"HTTP_IF_MATCH": etag} if etag else {}


def _write(client: Any, world: dict[str, Any], write: Write, extra: dict[str, Any]) -> Any:
    payload = {**write.payload(world, next(_counter)), **extra}
    url = write.url(world)
    headers = _if_match(client, url) if write.method in ("patch", "put") else {}
    return getattr(client, write.method)(url, payload, format="json", **headers)


def _created(write: Write, response: Any) -> models.Model | None:
    if response.status_code not in (200, 201) or write.creates is None:
        return None
    return write.creates()._base_manager.get(pk=response.json()["id"])


def write_keeps_protected_fields(client: Any, world: dict[str, Any], write: Write, extra: dict[str, Any]) -> bool:
    """rep_a's write with ``extra`` fields: no 5xx, and the protected fields are what they would be without them."""
    if write.target is not None:
        target = write.target(world)
        before = protected_values(type(target)._base_manager.get(pk=target.pk))
        response = _write(client, world, write, extra)
        assert response.status_code < 500, response.content
        after = protected_values(type(target)._base_manager.get(pk=target.pk))
        if "version" in before:  # a legitimate edit moves it on by one; the client's value never lands
            old, new = before.pop("version"), after.pop("version")
            if new not in (old, old + 1):
                return False
        return after == before
    control_response = _write(client, world, write, {})
    control = _created(write, control_response)
    assert control is not None, f"{write.name}: the control creation failed: {control_response.content!r}"
    rows = write.creates()._base_manager.count()
    response = _write(client, world, write, extra)
    assert response.status_code < 500, response.content
    created = _created(write, response)
    if created is None:  # refused: then nothing of it was written
        return response.status_code in (400, 403, 404, 409) and write.creates()._base_manager.count() == rows
    return protected_values(created) == protected_values(control) and created.pk != extra.get("id")


def _rep_a(world: dict[str, Any]) -> Any:
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(world["rep_east"])
    return client


@pytest.mark.parametrize("write", WRITES, ids=lambda write: write.name)
def test_each_base_payload_is_a_real_write(world: dict[str, Any], write: Write) -> None:
    """The payloads are valid, so the checks below exercise accepted writes, not refusals."""
    response = _write(_rep_a(world), world, write, {})
    if write.refused:
        assert response.status_code == 403
    else:
        assert response.status_code in (200, 201), response.content


@pytest.mark.parametrize("write", WRITES, ids=lambda write: write.name)
def test_explicit_protected_fields_do_not_land(world: dict[str, Any], write: Write) -> None:
    """All at once, then one at a time (so that one refused value cannot hide another that would land)."""
    client, values = _rep_a(world), injected(world)
    assert write_keeps_protected_fields(client, world, write, values)
    for name, value in values.items():
        assert write_keeps_protected_fields(client, world, write, {name: value}), name


@pytest.mark.parametrize("write", [w for w in WRITES if w.creates is not None], ids=lambda write: write.name)
def test_client_timestamps_and_ids_are_ignored_on_create(world: dict[str, Any], write: Write) -> None:
    from django.utils import timezone

    response = _write(_rep_a(world), world, write, {"id": 424242, "created_at": "2001-01-01T00:00:00Z",
                                                    "updated_at": "2001-01-01T00:00:00Z",
                                                    "created_by": world["rep_west"].pk})
    created = _created(write, response)
    assert created is not None, response.content
    assert created.pk != 424242
    if hasattr(created, "created_at"):
        assert abs((timezone.now() - created.created_at).total_seconds()) < 5
    if hasattr(created, "created_by_id"):
        assert created.created_by_id == world["rep_east"].pk


extra_fields = st.dictionaries(
    keys=st.one_of(st.sampled_from((*PROTECTED, "id", "created_at", "updated_at", "signed_at", "deleted")),
                   st.text(min_size=1, max_size=12)),
    values=st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**31, max_value=2**31),
                     st.text(max_size=20), st.lists(st.integers(min_value=0, max_value=10**6), max_size=3)),
    max_size=6,
)


@pytest.mark.slow  # 60 generated payloads
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(write=st.sampled_from(WRITES), extra=extra_fields)
def test_extra_fields_never_reach_protected_columns(world: dict[str, Any], write: Write,
                                                    extra: dict[str, Any]) -> None:
    assert write_keeps_protected_fields(_rep_a(world), world, write, extra)


def test_reviewed_writable_fields_are_refused_to_a_rep(world: dict[str, Any]) -> None:
    """The reviewed exceptions, tried by rep_a: refused, and the record unchanged."""
    from pharmacrm.service import services as service

    rep = _rep_a(world)
    product = world["product"]
    assert rep.patch(f"/api/v1/products/{product.pk}/", {"status": "discontinued"},
                     format="json").status_code == 403
    product.refresh_from_db()
    assert product.status != "discontinued"
    assert rep.post("/api/v1/products/", {"code": "P9", "status": "active"}, format="json").status_code in (400, 403)
    assert rep.post("/api/v1/account-requests/", {"username": "x", "full_name": "x", "email": "x@example.com",
                                                  "role": "admin", "justification": "x"},
                    format="json").status_code in (400, 403)
    from pharmacrm.org.roles import Role
    from pharmacrm.org.services import create_user

    create_user(actor=None, username="agent", full_name="客服", role=Role.SERVICE, team=world["teams"]["company"],
                email="agent@example.com", password=DEMO_PASSWORD)  # the desk owns the complaint
    case = service.open_case(actor=world["rep_east"], institution=world["institution_east"], kind="complaint",
                             title="投诉", description="到货延迟")
    response = rep.post(f"/api/v1/cases/{case.pk}/reassign/", {"owner": world["rep_east"].pk, "reason": "我来"},
                        format="json")
    assert response.status_code in (400, 403)
    case.refresh_from_db()
    assert case.owner_id != world["rep_east"].pk
    institution = world["institution_east"]
    url = f"/api/v1/institutions/{institution.pk}/"
    assert rep.patch(url, {"owner": world["rep_west"].pk}, format="json", **_if_match(rep, url)).status_code == 403
    created = rep.post("/api/v1/institutions/", {"name": "别人的诊所", "kind": "clinic", "division": "310104",
                                                 "owner": world["rep_west"].pk}, format="json")
    assert created.status_code == 400 and "owner" in created.json()["error"]["fields"]


def test_rep_cannot_promote_themselves(world: dict[str, Any]) -> None:
    from pharmacrm.org.models import User

    response = _rep_a(world).post(f"/api/v1/users/{world['rep_east'].pk}/assignment/",
                                  {"role": "admin", "team": world["teams"]["west"].pk, "territories": ["510100"],
                                   "is_staff": True, "is_superuser": True, "reason": "x"}, format="json")
    assert response.status_code in (403, 404)
    rep = User.objects.get(pk=world["rep_east"].pk)
    assert (rep.role, rep.is_staff, rep.is_superuser, rep.team_id) == ("rep", False, False,
                                                                       world["teams"]["east"].pk)


def test_credit_limit_changes_only_through_finance_and_audited(world: dict[str, Any]) -> None:
    from rest_framework.test import APIClient

    from pharmacrm.sales.models import CreditLimit

    institution = world["institution_east"]
    rep = _rep_a(world)
    assert rep.post("/api/v1/credit-limits/", {"institution": institution.pk, "limit_fen": 10**9},
                    format="json").status_code == 403
    url = f"/api/v1/institutions/{institution.pk}/"
    rep.patch(url, {"credit_limit": 10**9, "credit_limit_fen": 10**9, "limit_fen": 10**9}, format="json",
              **_if_match(rep, url))
    assert not CreditLimit.objects.filter(institution=institution).exists()
    finance = APIClient()
    finance.force_authenticate(world["finance"])
    response = finance.post("/api/v1/credit-limits/", {"institution": institution.pk, "limit_fen": 500_000,
                                                       "note": "年度授信"}, format="json")
    assert response.status_code == 201, response.content
    limit = CreditLimit.objects.get(institution=institution)
    assert limit.limit_fen == 500_000
    entry = AuditEntry.objects.for_object(limit).get(action=AuditAction.CREATE)
    assert entry.actor == world["finance"] and entry.changes["limit_fen"] == [None, 500_000]


def test_write_check_notices_a_leaking_endpoint(world: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Guard off: an institution service that lets "owner" through as an ordinary editable field (skipping the
    reassignment rule and the steward's review of locked fields) hands rep_a's customer to rep_b; the check
    notices."""
    from pharmacrm.customers import services as customers
    from pharmacrm.customers.models import Institution

    monkeypatch.setattr(customers, "INSTITUTION_EDITABLE", (*customers.INSTITUTION_EDITABLE, "owner"))
    monkeypatch.setattr(customers, "ASSIGNMENT_FIELDS", ())
    monkeypatch.setattr(Institution, "locked_fields", tuple(f for f in Institution.locked_fields if f != "owner"))
    write = next(write for write in WRITES if write.name == "institution edit")
    assert not write_keeps_protected_fields(_rep_a(world), world, write, {"owner": world["rep_west"].pk,
                                                                          "reason": "交接"})
