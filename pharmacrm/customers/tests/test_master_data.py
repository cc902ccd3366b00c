"""Customer master data rules: USCC, stewardship, change requests, duplicates, hierarchy, merge."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from conftest import login
from pharmacrm.core.approvals import decide
from pharmacrm.core.models import AuditEntry, StoredFile
from pharmacrm.customers import services, stewardship
from pharmacrm.customers.choices import ReviewStatus
from pharmacrm.customers.models import ChangeRequest, Contact, Institution, Licence
from pharmacrm.customers.qualification import add_licence
from pharmacrm.org.models import Division

GOOD_USCC = "91110108551385082Q"
PILOT_USCC = "91350100M0001TGQXM"  # legal early pilot code that fails the checksum (DOMAIN.md 2.7)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _new(actor: Any, **fields: Any) -> Institution:
    defaults = {"name": "上海市第十人民医院", "kind": "public_hospital", "division": Division.objects.get(pk="310106")}
    return services.create_institution(actor=actor, **{**defaults, **fields})


# --- USCC ------------------------------------------------------------------------------------


def test_uscc_is_normalised_and_checked(org: dict[str, Any]) -> None:
    institution = _new(org["steward"], owner=org["rep_east"], uscc=" 9111 0108 5513 8508 2q ")
    assert institution.uscc == GOOD_USCC and institution.uscc_checksum_ok
    with pytest.raises(ValidationError) as excinfo:
        _new(org["steward"], name="别的医院", owner=org["rep_east"], uscc="91110108551385082")
    assert "18" in str(excinfo.value.message_dict["uscc"])
    with pytest.raises(ValidationError) as excinfo:  # same legal entity twice
        _new(org["steward"], name="另一家医院", owner=org["rep_east"], uscc=GOOD_USCC)
    assert "uscc" in excinfo.value.message_dict


def test_bad_check_character_needs_a_steward_with_reason_and_scan(org: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as excinfo:
        _new(org["rep_east"], uscc=PILOT_USCC)
    assert excinfo.value.error_dict["uscc"][0].code == "uscc_checksum"
    with pytest.raises(ValidationError):  # a reason alone is not enough
        _new(org["steward"], owner=org["rep_east"], uscc=PILOT_USCC, uscc_override_reason="厦门早期试点代码")
    assert not Institution.objects.filter(uscc=PILOT_USCC).exists()

    scan = SimpleUploadedFile("licence.pdf", PDF, content_type="application/pdf")
    institution = _new(org["steward"], owner=org["rep_east"], uscc=PILOT_USCC,
                       uscc_override_reason="厦门早期试点代码，已核对营业执照原件", uscc_override_scan=scan)
    assert institution.uscc == PILOT_USCC and not institution.uscc_checksum_ok
    assert institution.uscc_override_scan.original_name == "licence.pdf"
    assert StoredFile.objects.filter(pk=institution.uscc_override_scan_id, object_id=str(institution.pk)).exists()


# --- new customers and change requests ---------------------------------------------------------


def test_rep_creates_a_pending_customer_that_the_steward_approves(org: dict[str, Any]) -> None:
    institution = _new(org["rep_east"])
    assert institution.review_status == ReviewStatus.PENDING and institution.owner == org["rep_east"]
    approval = stewardship.pending_review_approval(institution)
    assert approval is not None and approval.steps.get().role == "steward"
    decide(actor=org["steward"], approval=approval, approve=True, comment="", password="pharmacrm-demo")
    institution.refresh_from_db()
    assert institution.review_status == ReviewStatus.APPROVED


def test_rep_cannot_create_a_customer_for_someone_else(org: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as excinfo:
        _new(org["rep_east"], owner=org["rep_west"])
    assert "owner" in excinfo.value.message_dict


def test_similar_name_in_the_same_city_warns_until_acknowledged(org: dict[str, Any]) -> None:
    division = Division.objects.get(pk="310104")
    with pytest.raises(services.DuplicateWarning) as excinfo:  # traditional characters, same customer
        _new(org["steward"], owner=org["rep_east"], name="復旦大學附屬中山醫院", division=division)
    assert [c.pk for c in excinfo.value.candidates] == [org["institution_east"].pk]
    created = _new(org["steward"], owner=org["rep_east"], name="復旦大學附屬中山醫院", division=division,
                   acknowledge_duplicates=True)
    assert created.pk
    _new(org["steward"], owner=org["rep_east"], name="复旦大学附属中山医院", division=Division.objects.get(pk="510107"))


def test_rep_change_to_locked_fields_becomes_a_change_request(org: dict[str, Any]) -> None:
    institution = org["institution_east"]
    saved = services.update_institution(actor=org["rep_east"], institution=institution, reason="医院更名，见新执照",
                                        changes={"name": "复旦大学附属中山医院（东院）", "phone": "021 6404 1990"})
    assert saved.phone == "021-64041990"  # free field applied at once, normalised
    assert saved.name == "复旦大学附属中山医院"  # locked field waits
    change_request = saved.pending_change_request
    assert change_request.is_major and change_request.changes == {
        "name": ["复旦大学附属中山医院", "复旦大学附属中山医院（东院）"]}
    assert change_request.due_on > datetime.date(2000, 1, 1)

    with pytest.raises(PermissionDenied):
        stewardship.decide_change(actor=org["rep_east"], change_request=change_request, approve=True)
    with pytest.raises(ValidationError):  # a rejection says why
        stewardship.decide_change(actor=org["steward"], change_request=change_request, approve=False)
    stewardship.decide_change(actor=org["steward"], change_request=change_request, approve=True)
    institution.refresh_from_db()
    assert institution.name == "复旦大学附属中山医院（东院）"
    assert ChangeRequest.objects.get(pk=change_request.pk).status == ReviewStatus.APPROVED


def test_change_request_needs_a_reason_and_is_refused_when_the_field_moved_on(org: dict[str, Any]) -> None:
    institution = org["institution_east"]
    with pytest.raises(ValidationError) as excinfo:
        services.update_institution(actor=org["rep_east"], institution=institution, changes={"address": "枫林路"})
    assert "reason" in excinfo.value.message_dict
    assert not ChangeRequest.objects.exists()  # nothing half-written
    saved = services.update_institution(actor=org["rep_east"], institution=institution, changes={"address": "枫林路"},
                                        reason="地址变更")
    services.update_institution(actor=org["steward"], institution=Institution.objects.get(pk=institution.pk),
                                changes={"address": "枫林路180号"})
    with pytest.raises(ValidationError):
        stewardship.decide_change(actor=org["steward"], change_request=saved.pending_change_request, approve=True)
    assert Institution.objects.get(pk=institution.pk).address == "枫林路180号"


def test_overdue_change_requests_are_listed(org: dict[str, Any], client: Any) -> None:
    saved = services.update_institution(actor=org["rep_east"], institution=org["institution_east"],
                                        changes={"legal_representative": "樊嘉"}, reason="法定代表人变更")
    later = saved.pending_change_request.due_on + datetime.timedelta(days=1)
    assert list(stewardship.overdue_change_requests(later)) == [saved.pending_change_request]
    assert not stewardship.overdue_change_requests(saved.pending_change_request.due_on).exists()
    login(client, org["steward"])
    page = client.get("/customers/change-requests/", {"status": "pending"}).content.decode()
    assert "复旦大学附属中山医院" in page


# --- hierarchy -----------------------------------------------------------------------------------


def test_hierarchy_rules(org: dict[str, Any]) -> None:
    hospital = org["institution_east"]
    department = _new(org["steward"], owner=org["rep_east"], name="心内科", kind="department", parent=hospital)
    assert department.parent == hospital
    with pytest.raises(ValidationError) as excinfo:  # a store belongs to a chain HQ, not a hospital
        _new(org["steward"], owner=org["rep_east"], name="益丰大药房（徐汇店）", kind="chain_store", parent=hospital)
    assert "parent" in excinfo.value.message_dict
    with pytest.raises(ValidationError):
        _new(org["steward"], owner=org["rep_east"], name="某连锁门店", kind="chain_store")


# --- merge ---------------------------------------------------------------------------------------


def test_merge_moves_everything_and_can_be_undone(org: dict[str, Any]) -> None:
    survivor = org["institution_east"]
    duplicate = _new(org["steward"], owner=org["rep_east"], name="中山医院", short_name="中山",
                     division=Division.objects.get(pk="310104"), acknowledge_duplicates=True)
    contact = services.create_contact(actor=org["steward"], institution=duplicate, name="樊嘉", mobile="13812345678")
    licence = add_licence(actor=org["steward"], institution=duplicate, kind="medical_institution", number="PDY0001",
                          next_verification_on=datetime.date(2030, 1, 1))
    department = _new(org["steward"], owner=org["rep_east"], name="肝外科", kind="department", parent=duplicate)
    services.set_tags(actor=org["steward"], institution=duplicate, names=["医联体"])

    with pytest.raises(PermissionDenied):
        stewardship.merge(actor=org["rep_east"], survivor=survivor, duplicate=duplicate, reason="重复")
    stewardship.merge(actor=org["steward"], survivor=survivor, duplicate=duplicate, reason="同一家医院")

    survivor.refresh_from_db()
    assert Contact.objects.get(pk=contact.pk).institution_id == survivor.pk
    assert Licence.objects.get(pk=licence.pk).institution_id == survivor.pk
    assert Institution.objects.get(pk=department.pk).parent_id == survivor.pk
    assert contact.affiliations.get().institution_id == survivor.pk
    assert "中山医院" in survivor.aliases and "中山" in survivor.aliases
    assert list(survivor.tags.values_list("name", flat=True)) == ["医联体"]
    assert Institution.objects.get(pk=duplicate.pk).merged_into_id == survivor.pk
    assert duplicate.pk not in Institution.objects.live().values_list("pk", flat=True)
    assert AuditEntry.objects.for_object(survivor).filter(changes__has_key="merge").exists()

    stewardship.unmerge(actor=org["steward"], duplicate=Institution.objects.get(pk=duplicate.pk), reason="并非同一家")
    survivor.refresh_from_db()
    assert Contact.objects.get(pk=contact.pk).institution_id == duplicate.pk
    assert Licence.objects.get(pk=licence.pk).institution_id == duplicate.pk
    assert Institution.objects.get(pk=department.pk).parent_id == duplicate.pk
    assert survivor.aliases == [] and not survivor.tags.exists()
    assert Institution.objects.get(pk=duplicate.pk).merged_into_id is None


def test_merge_page_is_for_stewards(org: dict[str, Any], client: Any) -> None:
    duplicate = _new(org["steward"], owner=org["rep_east"], name="中山医院", acknowledge_duplicates=True)
    login(client, org["rep_east"])
    response = client.post(f"/customers/institutions/{duplicate.pk}/merge/",
                           {"survivor_id": org["institution_east"].pk, "reason": "重复"})
    assert response.status_code == 403
    login(client, org["steward"])
    response = client.post(f"/customers/institutions/{duplicate.pk}/merge/",
                           {"survivor_id": org["institution_east"].pk, "reason": ""})
    assert response.status_code == 400 and Institution.objects.get(pk=duplicate.pk).merged_into_id is None
    response = client.post(f"/customers/institutions/{duplicate.pk}/merge/",
                           {"survivor_id": org["institution_east"].pk, "reason": "重复录入"})
    assert response.status_code == 302
    assert Institution.objects.get(pk=duplicate.pk).merged_into_id == org["institution_east"].pk


# --- forms -------------------------------------------------------------------------------------------


def test_create_page_saves_a_pending_customer_for_a_rep(org: dict[str, Any], client: Any) -> None:
    login(client, org["rep_east"])
    assert client.get("/customers/institutions/new/").status_code == 200
    response = client.post("/customers/institutions/new/", {
        "name": "上海市徐汇区枫林街道社区卫生服务中心", "kind": "community_center", "status": "prospect",
        "division": "310104", "phone": "021-64041990", "tags": "医联体, 家庭医生签约", "uscc": GOOD_USCC,
        "purchase_channels": ["platform"]})
    assert response.status_code == 302, response.content.decode()[:2000]
    institution = Institution.objects.get(name="上海市徐汇区枫林街道社区卫生服务中心")
    assert institution.review_status == ReviewStatus.PENDING
    assert set(institution.tags.values_list("name", flat=True)) == {"家庭医生签约", "医联体"}
    assert institution.purchase_channels == ["platform"]


def test_create_page_rejects_bad_input_field_by_field(org: dict[str, Any], client: Any) -> None:
    login(client, org["rep_east"])
    response = client.post("/customers/institutions/new/", {
        "name": "", "kind": "spaceship", "division": "999999", "phone": "12345", "uscc": "X" * 300,
        "bed_count": "many"})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert {"name", "kind", "division", "bed_count"} <= set(errors)
    assert Institution.objects.count() == 2
