"""Contacts' personal data (PIPL): masked by default, revealed only with the right and always audited;
consent records and their withdrawal; search and scope over every new customer model."""

from __future__ import annotations

import csv
import datetime
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from conftest import login
from pharmacrm.core.models import AuditEntry
from pharmacrm.customers import qualification, services
from pharmacrm.customers.models import Contact, Institution
from pharmacrm.org.models import Division


@pytest.fixture
def doctor(org: dict[str, Any]) -> Contact:
    return services.create_contact(actor=org["steward"], institution=org["institution_east"], name="樊嘉",
                                   title="chief_physician", department="肝外科", mobile="+86 138-1234-5678",
                                   wechat_id="fanjia_md", birthday=datetime.date(1966, 4, 18),
                                   id_number="11010519491231002X", sensitive_consent="知情同意书 2024-001")


def test_contact_fields_are_validated_and_normalised(org: dict[str, Any], doctor: Contact) -> None:
    assert doctor.mobile == "13812345678" and doctor.id_number == "11010519491231002X"
    with pytest.raises(ValidationError) as excinfo:
        services.create_contact(actor=org["steward"], institution=org["institution_east"], name="张三",
                                mobile="010-65281234", id_number="123", email="not-an-email")
    assert {"mobile", "id_number", "email"} <= set(excinfo.value.message_dict)


def test_personal_data_is_masked_and_each_reveal_is_audited(org: dict[str, Any], doctor: Contact,
                                                            client: Any) -> None:
    login(client, org["rep_east"])
    page = client.get(doctor.get_absolute_url()).content.decode()
    assert "138****5678" in page and "13812345678" not in page and "1966-04-18" not in page
    assert "11010519491231002X" not in page

    response = client.post(f"/customers/contacts/{doctor.pk}/reveal/")
    assert response.status_code == 200 and "13812345678" in response.content.decode()
    entry = AuditEntry.objects.for_object(doctor).get(action="view_personal_data")
    assert entry.actor_id == org["rep_east"].pk and "mobile" in entry.changes["fields"]

    login(client, org["leader"])  # may see the contact, not their personal data
    page = client.get(doctor.get_absolute_url()).content.decode()
    assert "138****5678" in page and "reveal" not in page
    assert client.post(f"/customers/contacts/{doctor.pk}/reveal/").status_code == 403
    login(client, org["rep_west"])  # out of scope: as if it did not exist
    assert client.post(f"/customers/contacts/{doctor.pk}/reveal/").status_code == 404
    assert AuditEntry.objects.for_object(doctor).filter(action="view_personal_data").count() == 1


def test_history_tab_masks_old_and_new_personal_values(org: dict[str, Any], doctor: Contact, client: Any) -> None:
    """The audit trail holds every former phone number; the History tab must not become a way round the reveal."""
    from django.contrib.contenttypes.models import ContentType

    services.update_contact(actor=org["steward"], contact=doctor, changes={"mobile": "13987654321"})
    url = f"/history/{ContentType.objects.get_for_model(Contact).pk}/{doctor.pk}/"
    login(client, org["rep_east"])
    page = client.get(url).content.decode()
    assert "138****5678" in page and "139****4321" in page and "****-04-18" in page
    for clear in ("13812345678", "13987654321", "1966-04-18", "11010519491231002X", "fanjia_md"):
        assert clear not in page
    assert "肝外科" in page  # the rest of the history is there
    login(client, org["steward"])  # a role cleared for personal data reads the trail as it is
    page = client.get(url).content.decode()
    assert "13812345678" in page and "13987654321" in page


def test_exports_mask_personal_data_for_roles_without_the_right(org: dict[str, Any], doctor: Contact,
                                                                client: Any) -> None:
    def mobiles(user: Any) -> list[str]:
        login(client, user)
        response = client.get("/customers/contacts/", {"format": "csv"})
        assert response.status_code == 200
        rows = list(csv.reader(b"".join(response.streaming_content).decode("utf-8-sig").splitlines()))
        return [row[7] for row in rows[1:]]

    assert mobiles(org["manager_east"]) == ["138****5678"]
    assert mobiles(org["steward"]) == ["13812345678"]
    login(client, org["rep_east"])
    assert client.get("/customers/contacts/", {"format": "csv"}).status_code == 403


def test_withdrawn_consent_shows_wherever_the_contact_appears(org: dict[str, Any], doctor: Contact,
                                                              client: Any) -> None:
    consent = services.record_consent(actor=org["rep_east"], contact=doctor, channel="wechat", purpose="academic",
                                      granted_on=datetime.date(2026, 1, 5), evidence="签字同意书 2026-001")
    with pytest.raises(ValidationError):
        services.withdraw_consent(actor=org["rep_east"], consent=consent, withdrawn_on=datetime.date(2025, 1, 1))
    login(client, org["rep_east"])
    response = client.post(f"/customers/consents/{consent.pk}/withdraw/", {"withdrawn_on": "2026-11-01",
                                                                           "note": "电话要求停止推送"})
    assert response.status_code == 302
    doctor.refresh_from_db()
    assert doctor.consent_withdrawn
    for url in (doctor.get_absolute_url(), org["institution_east"].get_absolute_url(), "/customers/contacts/"):
        assert "consent-withdrawn" in client.get(url).content.decode(), url


def test_personal_fields_stay_out_of_the_edit_form_for_roles_without_the_right(org: dict[str, Any],
                                                                               doctor: Contact,
                                                                               client: Any) -> None:
    login(client, org["rep_east"])
    response = client.get(f"/customers/contacts/{doctor.pk}/edit/")
    assert response.status_code == 200 and "13812345678" in response.content.decode()
    assert AuditEntry.objects.for_object(doctor).filter(action="view_personal_data").exists()
    login(client, org["leader"])
    assert client.get(f"/customers/contacts/{doctor.pk}/edit/").status_code == 403


# --- search -----------------------------------------------------------------------------------


@pytest.fixture
def peking_union(org: dict[str, Any]) -> Institution:
    return services.create_institution(
        actor=org["steward"], name="北京协和医院", short_name="协和", kind="public_hospital", hospital_grade="3A",
        division=Division.objects.get(pk="110101"), owner=org["rep_east"], uscc="12100000400000624D",
        phone="010-69156114")


@pytest.mark.parametrize("query", ["北京协和医院", "协和", "協和醫院", "bjxh", "xh", "beijingxiehe", "xiehe",
                                   "12100000", "01069156114"])
@pytest.mark.parametrize("who", ["steward", "rep_east"])
def test_one_box_finds_by_name_pinyin_initials_uscc_and_phone(org: dict[str, Any], peking_union: Institution,
                                                             client: Any, query: str, who: str) -> None:
    login(client, org[who])
    found = [row.pk for row in client.get("/customers/institutions/", {"q": query}).context["rows"]]
    assert peking_union.pk in found
    assert org["institution_east"].pk not in found  # 复旦大学附属中山医院 matches none of these


def test_search_never_crosses_scope(org: dict[str, Any], client: Any) -> None:
    login(client, org["rep_east"])
    for query in ("华西", "hxyy", "sichuan"):
        assert list(client.get("/customers/institutions/", {"q": query}).context["rows"]) == []
    login(client, org["manager_east"])
    response = client.get("/customers/institutions/", {"q": "hx", "format": "csv"})
    assert "华西" not in b"".join(response.streaming_content).decode("utf-8-sig")
    login(client, org["steward"])
    assert [row.name for row in client.get("/customers/institutions/", {"q": "hxyy"}).context["rows"]] == [
        "四川大学华西医院"]


def test_search_of_nothing_searchable_and_of_huge_input(org: dict[str, Any], client: Any) -> None:
    login(client, org["steward"])
    assert len(client.get("/customers/institutions/", {"q": "（）——"}).context["rows"]) == 2
    assert client.get("/customers/institutions/", {"q": "医" * 5000}).status_code in (200, 400)


def test_contacts_found_by_pinyin_within_scope(org: dict[str, Any], doctor: Contact, client: Any) -> None:
    login(client, org["rep_east"])
    assert [c.pk for c in client.get("/customers/contacts/", {"q": "fj"}).context["rows"]] == [doctor.pk]
    login(client, org["rep_west"])
    assert list(client.get("/customers/contacts/", {"q": "fj"}).context["rows"]) == []


# --- scope of every new model ---------------------------------------------------------------


def test_rep_west_sees_none_of_rep_easts_records(org: dict[str, Any], doctor: Contact, client: Any) -> None:
    licence = qualification.add_licence(actor=org["rep_east"], institution=org["institution_east"],
                                        kind="medical_institution", number="PDY-1")
    consent = services.record_consent(actor=org["rep_east"], contact=doctor, channel="sms", purpose="service",
                                      granted_on=datetime.date(2026, 1, 1), evidence="短信回复 Y")
    change = services.update_institution(actor=org["rep_east"], institution=org["institution_east"],
                                         changes={"legal_representative": "樊嘉"}, reason="换届").pending_change_request
    login(client, org["rep_west"])
    for url in (licence.get_absolute_url(), change.get_absolute_url(), doctor.get_absolute_url(),
                f"/customers/institutions/{org['institution_east'].pk}/licences/new/",
                f"/customers/institutions/{org['institution_east'].pk}/contacts/new/"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/customers/consents/{consent.pk}/withdraw/",
                       {"withdrawn_on": "2026-11-01"}).status_code == 404
    for url in ("/customers/licences/", "/customers/change-requests/", "/customers/contacts/"):
        assert list(client.get(url).context["rows"]) == [], url
    login(client, org["rep_east"])
    assert [row.pk for row in client.get("/customers/licences/").context["rows"]] == [licence.pk]
    assert [row.pk for row in client.get("/customers/change-requests/").context["rows"]] == [change.pk]
