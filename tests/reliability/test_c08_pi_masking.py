"""Check 8 — PI masking and sensitive-field protection (PIPL Art.28/51, GB/T 35273 §6.3/§7.2).

Pass criterion: every GET operation of the API schema, called as rep_a over data holding real-looking
mobiles, 18-digit resident IDs and bank account numbers (in personal fields and typed into free text),
returns 0 bodies with an unmasked mobile ``1[3-9]\\d{9}``, resident ID ``\\d{17}[\\dXx]`` or full bank
account; the reveal (unmask) endpoint writes a PI-access row; Contact.mobile and Contact.id_number are
ciphertext in the raw column (SQLite and PostgreSQL), in the audit trail and nowhere in the search index;
a whole mobile still finds its contact through the blind index; the data migration seals existing rows.
Each guard is also switched off to show the check would notice.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection

from conftest import login
from tests.reliability import schema as openapi
from tests.reliability.privacy_fixtures import (  # noqa: F401  (fixtures)
    BANK_ACCOUNT,
    FREE_TEXT,
    MOBILE,
    OTHER_MOBILE,
    RESIDENT_ID,
    person,
    raw_contact_row,
)

pytestmark = pytest.mark.django_db

LEAKS = re.compile(r"(?<![0-9A-Za-z])(1[3-9]\d{9}|\d{17}[\dXx]|\d{16,19})(?![0-9A-Za-z])")
PARAM = re.compile(r"\{(\w+)\}")


@pytest.fixture
def pi_world(org: dict[str, Any], person: Any) -> dict[str, Any]:  # noqa: F811
    """Personal numbers in personal fields (the contact) and in free text (a case, a call note)."""
    from pharmacrm.engagement.services import log_communication
    from pharmacrm.service.services import open_case

    rep = org["rep_east"]
    case = open_case(actor=rep, institution=org["institution_east"], kind="consultation", title="咨询",
                     description=FREE_TEXT, contact=person)
    note = log_communication(actor=rep, institution=org["institution_east"], channel="phone", summary=FREE_TEXT,
                             contact=person)
    return {"contact": person, "case": case, "communication": note}


def get_operations() -> list[str]:
    schema = openapi.api_schema()
    return sorted(path for path, operations in schema["paths"].items() if "get" in operations)


def crawl(client: Any) -> tuple[list[tuple[str, int, str]], int]:
    """Every GET operation: lists first, then details and actions with the ids the lists returned."""
    paths = get_operations()
    ids: dict[str, list[str]] = {}
    responses: list[tuple[str, int, str]] = []
    skipped = 0
    for path in [p for p in paths if not PARAM.search(p)]:
        response = client.get(path, HTTP_ACCEPT="application/json")
        body = response.content.decode(errors="replace")
        responses.append((path, response.status_code, body))
        data = response.json() if response.get("Content-Type", "").startswith("application/json") else None
        rows = data.get("results", []) if isinstance(data, dict) else (data if isinstance(data, list) else [])
        ids[path] = [str(row["id"]) for row in rows if isinstance(row, dict) and "id" in row][:3]
    for path in [p for p in paths if PARAM.search(p)]:
        names = PARAM.findall(path)
        base = path[:path.index("{")]
        if names != ["id"] or not ids.get(base):
            skipped += 1  # no id to try (a token, a content type): the list above covered the rows
            continue
        for pk in ids[base]:
            url = path.replace("{id}", pk)
            response = client.get(url, HTTP_ACCEPT="application/json")
            responses.append((url, response.status_code, response.content.decode(errors="replace")))
    return responses, skipped


def leaks(responses: list[tuple[str, int, str]]) -> list[tuple[str, str]]:
    return [(url, match) for url, _status, body in responses for match in LEAKS.findall(body)]


def test_no_get_operation_shows_unmasked_numbers_to_a_rep(client: Any, org: dict[str, Any],
                                                           pi_world: dict[str, Any]) -> None:
    login(client, org["rep_east"])
    responses, skipped = crawl(client)
    assert not [r for r in responses if r[1] >= 500], "server errors while crawling"
    contact_detail = f"/api/v1/contacts/{pi_world['contact'].pk}/"
    case_detail = f"/api/v1/cases/{pi_world['case'].pk}/"
    seen = {url for url, status, _ in responses if status == 200}
    assert contact_detail in seen and case_detail in seen, "the crawl must reach the rows holding the numbers"
    assert len(responses) >= 60, f"too few operations crawled ({len(responses)}, {skipped} skipped)"
    found = leaks(responses)
    assert found == [], f"unmasked personal numbers in API responses: {found[:10]}"
    body = next(body for url, _s, body in responses if url == case_detail)
    assert "139****4321" in body and "***************3445" in body  # masked, still recognisable


def test_without_the_masking_renderer_the_crawl_finds_the_leak(client: Any, org: dict[str, Any],
                                                               pi_world: dict[str, Any],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from pharmacrm.privacy.api import renderers

    monkeypatch.setattr(renderers, "can_see_unmasked_personal_data", lambda user: True)
    login(client, org["rep_east"])
    responses, _skipped = crawl(client)
    found = {match for _url, match in leaks(responses)}
    assert {OTHER_MOBILE, BANK_ACCOUNT} <= found


def test_a_role_with_the_right_sees_free_text_in_clear(client: Any, org: dict[str, Any],
                                                       pi_world: dict[str, Any]) -> None:
    login(client, org["compliance"])
    body = client.get(f"/api/v1/cases/{pi_world['case'].pk}/").content.decode()
    assert OTHER_MOBILE in body


def test_reveal_writes_a_personal_data_access_row(client: Any, org: dict[str, Any], pi_world: dict[str, Any]) -> None:
    from pharmacrm.privacy.models import PersonalDataAccess

    contact = pi_world["contact"]
    login(client, org["rep_east"])
    before = PersonalDataAccess.objects.count()
    response = client.post(f"/api/v1/contacts/{contact.pk}/reveal/")
    assert response.status_code == 200 and response.json()["mobile"] == MOBILE
    assert response.json()["id_number"] == RESIDENT_ID
    row = PersonalDataAccess.objects.order_by("-id").first()
    assert PersonalDataAccess.objects.count() == before + 1
    assert (row.viewer, row.purpose, row.contact_ids) == (org["rep_east"], "reveal", [contact.pk])
    login(client, org["rep_west"])  # out of territory: not found, nothing logged
    assert client.post(f"/api/v1/contacts/{contact.pk}/reveal/").status_code == 404
    assert PersonalDataAccess.objects.count() == before + 1


def _fts_terms(contact_id: int) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT terms FROM customers_contact_fts WHERE rowid = %s", [contact_id])
        else:
            cursor.execute("SELECT terms::text FROM customers_contact_fts WHERE id = %s", [contact_id])
        row = cursor.fetchone()
    return row[0] if row else ""


def _audit_text(contact_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT changes FROM core_auditentry WHERE object_id = %s", [str(contact_id)])
        return " ".join(str(row[0]) for row in cursor.fetchall())


def test_sensitive_columns_are_ciphertext_at_rest(org: dict[str, Any], person: Any) -> None:  # noqa: F811
    from pharmacrm.core.crypto import open_value
    from pharmacrm.customers.filters import ContactFilter
    from pharmacrm.customers.models import Contact

    mobile, id_number, search_key, mobile_index = raw_contact_row(person.pk)
    assert mobile.startswith("pi1:") and id_number.startswith("pi1:")
    assert MOBILE not in mobile and RESIDENT_ID not in id_number
    assert open_value(mobile) == MOBILE and open_value(id_number) == RESIDENT_ID
    assert MOBILE not in search_key and MOBILE not in _fts_terms(person.pk)
    assert len(mobile_index) == 64 and MOBILE not in mobile_index
    audit = _audit_text(person.pk)
    assert MOBILE not in audit and RESIDENT_ID not in audit and "pi1:" in audit
    # two rows with the same number: different ciphertext (random nonce), same blind index
    from pharmacrm.customers.services import create_contact

    twin = create_contact(actor=org["steward"], institution=org["institution_east"], name="另一人", mobile=MOBILE)
    assert raw_contact_row(twin.pk)[0] != mobile and raw_contact_row(twin.pk)[3] == mobile_index
    # search by the whole number still works, for a rep (scan) and a head-office role (full-text path)
    for user in (org["rep_east"], org["steward"]):
        found = ContactFilter({"q": MOBILE}, queryset=Contact.objects.visible_to(user)).qs
        assert set(found.values_list("pk", flat=True)) == {person.pk, twin.pk}
        by_name = ContactFilter({"q": "樊嘉"}, queryset=Contact.objects.visible_to(user)).qs
        assert list(by_name.values_list("pk", flat=True)) == [person.pk]


def test_the_ciphertext_check_notices_a_clear_column(org: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from pharmacrm.core import crypto
    from pharmacrm.customers.services import create_contact

    monkeypatch.setattr(crypto, "seal", lambda text: text)  # sealing switched off
    contact = create_contact(actor=org["steward"], institution=org["institution_east"], name="明文", mobile=MOBILE)
    assert not raw_contact_row(contact.pk)[0].startswith("pi1:")


def test_data_migration_seals_existing_rows(org: dict[str, Any], person: Any) -> None:  # noqa: F811
    """Rows stored in clear before the migration (raw SQL, as the old schema did) come out sealed."""
    import importlib

    from django.apps import apps

    from pharmacrm.customers import search

    with connection.cursor() as cursor:
        cursor.execute("UPDATE customers_contact SET mobile = %s, id_number = %s, mobile_index = '', "
                       "search_key = %s WHERE id = %s", [MOBILE, RESIDENT_ID, "樊嘉 " + MOBILE, person.pk])
    search.CONTACT_INDEX.replace([(person.pk, ["樊嘉", MOBILE])])
    migration = importlib.import_module("pharmacrm.customers.migrations.0005_sealed_personal_fields")

    class Editor:
        pass

    editor = Editor()
    editor.connection = connection
    migration.seal_existing(apps, editor)
    mobile, id_number, search_key, mobile_index = raw_contact_row(person.pk)
    assert mobile.startswith("pi1:") and id_number.startswith("pi1:") and MOBILE not in search_key
    assert mobile_index and MOBILE not in _fts_terms(person.pk)
    migration.seal_existing(apps, editor)  # twice: nothing sealed twice
    assert raw_contact_row(person.pk)[0] == mobile
