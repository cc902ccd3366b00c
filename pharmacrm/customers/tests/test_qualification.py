"""GSP qualification: licences, the derived badge, is_qualified_for and the daily expiry alerts."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from conftest import login
from pharmacrm.core.models import Notification
from pharmacrm.customers import qualification, services
from pharmacrm.customers.choices import QualificationStatus as Q
from pharmacrm.customers.models import Institution
from pharmacrm.org.models import Division

TODAY = datetime.date(2026, 11, 23)


def _pharmacy(org: dict[str, Any]) -> Institution:
    return services.create_institution(actor=org["steward"], name="老百姓大药房（徐汇店）", kind="pharmacy",
                                       division=Division.objects.get(pk="310104"), owner=org["rep_east"])


def _licence(org: dict[str, Any], institution: Institution, kind: str, approve: bool = True, **fields: Any) -> Any:
    fields.setdefault("valid_to", TODAY + datetime.timedelta(days=400))
    licence = qualification.add_licence(actor=org["rep_east"], institution=institution, kind=kind,
                                        number=f"{kind}-001", **fields)
    if approve:
        licence = qualification.review_licence(actor=org["steward"], licence=licence, approve=True)
    return licence


def test_status_follows_the_required_licences(org: dict[str, Any]) -> None:
    pharmacy = _pharmacy(org)
    assert qualification.evaluate(pharmacy, TODAY).status == Q.MISSING
    _licence(org, pharmacy, "business")
    trading = _licence(org, pharmacy, "drug_trading", approve=False, categories=["chemical"])
    assert qualification.evaluate(pharmacy, TODAY).status == Q.PENDING  # only unreviewed one on file
    qualification.review_licence(actor=org["steward"], licence=trading, approve=True)
    result = qualification.evaluate(pharmacy, TODAY)
    assert result.status == Q.QUALIFIED and result.until == TODAY + datetime.timedelta(days=400)
    assert qualification.evaluate(pharmacy, TODAY + datetime.timedelta(days=320)).status == Q.EXPIRING
    assert qualification.evaluate(pharmacy, TODAY + datetime.timedelta(days=401)).status == Q.EXPIRED
    pharmacy.refresh_from_db()
    assert pharmacy.qualification_status in (Q.QUALIFIED, Q.EXPIRING)  # stored badge follows the writes


def test_rejected_and_edited_licences(org: dict[str, Any]) -> None:
    pharmacy = _pharmacy(org)
    licence = _licence(org, pharmacy, "business", approve=False)
    with pytest.raises(ValidationError):  # a rejection says why
        qualification.review_licence(actor=org["steward"], licence=licence, approve=False)
    with pytest.raises(PermissionDenied):  # reps do not review
        qualification.review_licence(actor=org["rep_east"], licence=licence, approve=True)
    licence = qualification.review_licence(actor=org["steward"], licence=licence, approve=True)
    licence = qualification.update_licence(actor=org["rep_east"], licence=licence, changes={"number": "新证号"})
    assert licence.review_status == "pending"  # edited after review: back to the steward


def test_purchase_authorisation_names_the_purchaser_and_its_period(org: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as excinfo:
        qualification.add_licence(actor=org["rep_east"], institution=org["institution_east"],
                                  kind="purchase_authorization", number="WT-1")
    assert {"purchaser_name", "valid_to"} <= set(excinfo.value.message_dict)


def test_is_qualified_for_checks_status_and_licensed_scope(org: dict[str, Any]) -> None:
    pharmacy = _pharmacy(org)
    check = qualification.is_qualified_for(pharmacy, "chemical", on=TODAY)
    assert not check.ok and any("GSP" in reason for reason in check.reasons)
    _licence(org, pharmacy, "business")
    _licence(org, pharmacy, "drug_trading", categories=["chemical", "tcm_patent"])
    assert qualification.is_qualified_for(pharmacy, "chemical", on=TODAY).ok
    biological = qualification.is_qualified_for(pharmacy, "biological", on=TODAY)
    assert not biological.ok and "第九十条" in biological.reasons[0]
    expired = qualification.is_qualified_for(pharmacy, "chemical", on=TODAY + datetime.timedelta(days=500))
    assert not expired.ok and expired.status == Q.EXPIRED
    with pytest.raises(ValueError):
        qualification.is_qualified_for(pharmacy, "spaceship", on=TODAY)


def test_hospitals_need_their_practice_licence_and_verification(org: dict[str, Any]) -> None:
    hospital = org["institution_east"]
    _licence(org, hospital, "medical_institution", valid_to=None,
             next_verification_on=TODAY + datetime.timedelta(days=30))
    assert qualification.evaluate(hospital, TODAY).status == Q.EXPIRING
    assert qualification.is_qualified_for(hospital, "biological", on=TODAY).ok  # no drug-category scope
    assert qualification.evaluate(hospital, TODAY + datetime.timedelta(days=31)).status == Q.EXPIRED


def test_expiry_alerts_go_once_per_step_to_owner_and_stewards(org: dict[str, Any]) -> None:
    pharmacy = _pharmacy(org)
    _licence(org, pharmacy, "business", valid_to=TODAY + datetime.timedelta(days=90))
    _licence(org, pharmacy, "drug_trading", valid_to=TODAY + datetime.timedelta(days=400), categories=["chemical"])

    def alerts() -> int:
        return Notification.objects.filter(recipient=org["rep_east"], title__contains="老百姓").count()

    assert qualification.send_expiry_alerts(TODAY) == 1 and alerts() == 1
    assert Notification.objects.filter(recipient=org["steward"], title__contains="老百姓").count() == 1
    assert qualification.send_expiry_alerts(TODAY) == 0 and alerts() == 1  # twice a day: once
    assert qualification.send_expiry_alerts(TODAY + datetime.timedelta(days=10)) == 0  # still the 90-day step
    assert qualification.send_expiry_alerts(TODAY + datetime.timedelta(days=30)) == 1  # 60 days left
    assert qualification.send_expiry_alerts(TODAY + datetime.timedelta(days=91)) == 1  # expired yesterday
    assert alerts() == 3
    pharmacy.refresh_from_db()
    assert pharmacy.qualification_status == Q.EXPIRED  # the job refreshed the badge


def test_badge_and_licence_pages(org: dict[str, Any], client: Any) -> None:
    pharmacy = _pharmacy(org)
    licence = _licence(org, pharmacy, "business", approve=False)
    login(client, org["rep_east"])
    page = client.get(pharmacy.get_absolute_url()).content.decode()
    assert "qual-missing" in page and "营业执照" in page
    list_page = client.get("/customers/institutions/", {"qualification": "missing"}).content.decode()
    assert "老百姓大药房（徐汇店）" in list_page
    assert client.post(f"/customers/licences/{licence.pk}/review/", {"decision": "approve"}).status_code == 403
    login(client, org["rep_west"])
    assert client.get(f"/customers/licences/{licence.pk}/").status_code == 404
    login(client, org["steward"])
    response = client.post(f"/customers/licences/{licence.pk}/review/", {"decision": "reject", "comment": ""})
    assert response.status_code == 400
    response = client.post(f"/customers/licences/{licence.pk}/review/", {"decision": "approve", "comment": ""})
    assert response.status_code == 302
    assert client.get("/customers/licences/", {"review": "approved"}).content.decode().count("老百姓") == 1


def test_licence_add_page_with_scan(org: dict[str, Any], client: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    pharmacy = _pharmacy(org)
    login(client, org["rep_east"])
    scan = SimpleUploadedFile("licence.pdf", b"%PDF-1.4\n%%EOF\n", content_type="application/pdf")
    response = client.post(f"/customers/institutions/{pharmacy.pk}/licences/new/", {
        "kind": "drug_trading", "number": "沪AA0210001", "valid_to": "2029-12-31", "categories": ["chemical"],
        "scan_file": scan})
    assert response.status_code == 302, response.content.decode()[:1500]
    licence = pharmacy.licences.get()
    assert licence.scan.original_name == "licence.pdf" and licence.review_status == "pending"
    response = client.post(f"/customers/institutions/{pharmacy.pk}/licences/new/", {
        "kind": "drug_trading", "number": "", "valid_from": "2029-01-01", "valid_to": "2020-01-01"})
    assert response.status_code == 400 and pharmacy.licences.count() == 1
