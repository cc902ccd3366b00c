"""Check 10 — Subject rights incl. the retention conflict (PIPL Art.44–47, 50; GB/T 35273 §8).

Pass criterion: the DPO's register (``privacy.SubjectRequest``, page and API) dates each request due
within the policy's days, never more than 30; an access request's copy holds every personal field of
the person across tables, driven by ``privacy.inventory`` — and a walk over every model field of the
project finds 0 personal-looking fields missing from it; a deletion anonymises the person outside GxP
(search by name or mobile → 0 hits on both search paths, the search index rebuilt) while complaint and
quality cases remain, their person readable by QA only; a correction goes through the audited update;
reps see neither the register nor the retained data.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.apps import apps
from django.db import models

from conftest import login
from tests.reliability.privacy_fixtures import (  # noqa: F401  (fixtures)
    MOBILE,
    dpo,
    person,
    qa,
)

pytestmark = pytest.mark.django_db

#: field names that suggest a person's data
PERSONAL_LOOKING = re.compile(
    r"(name|mobile|phone|email|wechat|birthday|birth|id_number|address|signature|notes?|summary|description|"
    r"comment|answers?|text|body|feedback|objections|agreements|scope|evidence|gender|department|specialty|"
    r"title|details|corrections|outcome|identity|place|solution|corrective)")


def _links_to_contact(model: type[models.Model]) -> bool:
    """The model holds rows about a contact: a relation to Contact, or to a model that has one."""
    from pharmacrm.customers.models import Contact

    def direct(candidate: type[models.Model]) -> bool:
        return candidate is Contact or any(
            getattr(field, "related_model", None) is Contact and field.concrete
            for field in candidate._meta.get_fields())

    if direct(model):
        return True
    return any(field.many_to_one and field.concrete and field.related_model is not None
               and field.related_model._meta.app_label not in ("auth", "contenttypes", "org", "core")
               and field.related_model is not model and direct(field.related_model)
               and field.name in ("case", "invitation") for field in model._meta.concrete_fields)


def missing_from_inventory() -> list[str]:
    from pharmacrm.privacy import inventory

    declared = inventory.declared_fields()
    missing = []
    for model in apps.get_models():
        if model._meta.app_label in ("auth", "contenttypes", "sessions", "authtoken", "otp_totp", "axes",
                                     "huey_monitor") or not _links_to_contact(model):
            continue
        for field in model._meta.get_fields():
            if not getattr(field, "concrete", False) or (field.is_relation and not isinstance(
                    field, models.ForeignKey)):
                continue
            key = (model._meta.label, field.name)
            looks = PERSONAL_LOOKING.search(field.name) and not field.name.endswith(("_id", "_hash", "_at"))
            if looks and key not in declared and key not in inventory.NOT_PERSONAL:
                missing.append(f"{model._meta.label}.{field.name}")
    return sorted(missing)


def test_inventory_covers_every_personal_looking_field() -> None:
    assert missing_from_inventory() == []


def test_inventory_check_notices_a_missing_field(monkeypatch: pytest.MonkeyPatch) -> None:
    from pharmacrm.privacy import inventory

    trimmed = tuple(entry for entry in inventory.INVENTORY if entry.model != "engagement.Communication")
    monkeypatch.setattr(inventory, "INVENTORY", trimmed)
    assert "engagement.Communication.summary" in missing_from_inventory()


def test_register_due_dates_and_scope(client: Any, org: dict[str, Any], dpo: Any, person: Any) -> None:  # noqa: F811
    from django.core.exceptions import ValidationError

    from pharmacrm.core import policy
    from pharmacrm.privacy.policy import SUBJECT_REQUEST_DAYS

    login(client, dpo)
    received = policy.today() - datetime.timedelta(days=2)
    response = client.post("/api/v1/privacy/requests/", {"kind": "access", "contact": person.pk,
                                                         "received_on": received.isoformat()},
                           content_type="application/json")
    assert response.status_code == 201
    due = datetime.date.fromisoformat(response.json()["due_on"])
    assert received < due <= received + datetime.timedelta(days=30)
    with pytest.raises(ValidationError):
        SUBJECT_REQUEST_DAYS.clean(31)
    policy_get = policy.get  # even a value forced past the validator is capped at 30 days
    try:
        policy.get = lambda key, on=None: 90 if key == SUBJECT_REQUEST_DAYS.key else policy_get(key, on)
        from pharmacrm.privacy.services import due_date

        assert due_date(received) == received + datetime.timedelta(days=30)
    finally:
        policy.get = policy_get
    bad = client.post("/api/v1/privacy/requests/", {"kind": "deletion", "contact": person.pk,
                                                    "received_on": "2999-01-01"}, content_type="application/json")
    assert bad.status_code == 400 and "received_on" in bad.json()["error"]["fields"]
    assert client.get("/privacy/requests/").status_code == 200
    page = client.get("/").content.decode()
    assert "/privacy/requests/" in page  # the DPO's menu entry
    login(client, org["rep_east"])
    assert client.get("/api/v1/privacy/requests/").status_code == 403
    assert client.get("/privacy/requests/").status_code == 403
    assert "/privacy/requests/" not in client.get("/").content.decode()


def test_access_copy_holds_every_inventoried_field(client: Any, org: dict[str, Any], dpo: Any,  # noqa: F811
                                                   person: Any) -> None:  # noqa: F811
    from pharmacrm.engagement.services import log_communication
    from pharmacrm.privacy import inventory, services
    from pharmacrm.privacy.models import PersonalDataAccess

    log_communication(actor=org["rep_east"], institution=org["institution_east"], channel="phone",
                      summary="约好下周学术会", contact=person)
    request = services.open_request(actor=dpo, kind="access", contact=person, received_on=datetime.date.today())
    login(client, dpo)
    response = client.post(f"/api/v1/privacy/requests/{request.pk}/complete/", {}, content_type="application/json")
    assert response.status_code == 200
    copy = response.json()["copy"]
    contact_row = copy["records"]["customers.Contact"][0]
    for entry in inventory.entries():
        rows = entry.model_class._base_manager.filter(**{entry.contact: person.pk}).distinct()
        if rows.exists():
            assert {row["id"] for row in copy["records"][entry.model]} == set(rows.values_list("pk", flat=True))
            assert set(entry.fields) <= set(copy["records"][entry.model][0]), entry.model
    assert contact_row["mobile"] == MOBILE and contact_row["id_number"] == "11010519491231002X"
    assert copy["records"]["engagement.Communication"][0]["summary"] == "约好下周学术会"
    assert response.json()["request"]["status"] == "done"
    assert PersonalDataAccess.objects.filter(purpose="subject_access").about(person.pk).exists()


def _search(user: Any, text: str) -> list[int]:
    from pharmacrm.customers.filters import ContactFilter
    from pharmacrm.customers.models import Contact

    return list(ContactFilter({"q": text}, queryset=Contact.objects.visible_to(user)).qs.values_list("pk", flat=True))


def test_deletion_anonymises_but_gxp_cases_remain_for_qa_only(client: Any, org: dict[str, Any], dpo: Any,  # noqa: F811
                                                                qa: Any, person: Any) -> None:  # noqa: F811
    from pharmacrm.engagement.services import log_communication
    from pharmacrm.privacy import services
    from pharmacrm.service.models import Case
    from pharmacrm.service.services import open_case

    complaint = open_case(actor=org["rep_east"], institution=org["institution_east"], kind="complaint",
                          title="包装破损", description="外包装破损", contact=person)
    call = log_communication(actor=org["rep_east"], institution=org["institution_east"], channel="phone",
                             summary="樊主任说周三有空", contact=person)
    for user in (org["rep_east"], org["steward"]):
        assert _search(user, "樊嘉") == [person.pk] and _search(user, MOBILE) == [person.pk]
    request = services.open_request(actor=dpo, kind="deletion", contact=person, received_on=datetime.date.today())
    services.complete_request(actor=dpo, subject_request=request, outcome="已匿名化")
    person.refresh_from_db()
    call.refresh_from_db()
    for user in (org["rep_east"], org["steward"]):  # scan path and full-text path
        assert _search(user, "樊嘉") == [] and _search(user, MOBILE) == [] and _search(user, "fj") == []
    assert person.name == f"anon-{person.pk}" and person.mobile == "" and person.id_number == ""
    assert person.pi_restricted and call.summary == "—"
    case = Case.objects.get(pk=complaint.pk)  # the GxP record stays, unchanged, linked to the person
    assert (case.contact_id, case.description, case.status) == (person.pk, "外包装破损", complaint.status)
    login(client, qa)
    retained = client.get("/api/v1/privacy/retained/").json()["results"]
    assert retained[0]["contact"] == person.pk and retained[0]["identity"]["name"] == "樊嘉"
    assert retained[0]["identity"]["mobile"] == MOBILE
    for user in (org["rep_east"], org["manager_east"], dpo, org["compliance"]):
        login(client, user)
        response = client.get("/api/v1/privacy/retained/")
        assert response.status_code == 403 or response.json()["results"] == []
        body = client.get(f"/api/v1/cases/{complaint.pk}/").content.decode() + \
            client.get(f"/api/v1/contacts/{person.pk}/").content.decode()
        assert "樊嘉" not in body and MOBILE not in body


def _kept_case_naming(org: dict[str, Any], officer: Any, complainant: Any) -> Any:
    """A complaint whose subject, description and a note name the complainant, who then has themself deleted."""
    from pharmacrm.privacy import services
    from pharmacrm.service.services import add_note, open_case

    complaint = open_case(actor=org["rep_east"], institution=org["institution_east"], kind="complaint",
                          title="樊嘉主任反映包装破损", description="樊嘉主任说两盒外包装破损。", contact=complainant)
    add_note(actor=org["rep_east"], case=complaint, body="已向樊嘉主任致歉", internal=True)
    request = services.open_request(actor=officer, kind="deletion", contact=complainant, received_on=datetime.date.today())
    services.complete_request(actor=officer, subject_request=request, outcome="已匿名化")
    return complaint


def _case_surfaces(client: Any, case: Any) -> str:
    """Everything a user reads of the case: its page, the case list, the service queue, Today, the customer's
    timeline, the case API (detail and list)."""
    pages = (case.get_absolute_url(), "/service/cases/", "/service/", "/engagement/",
             case.institution.get_absolute_url(), f"/api/v1/cases/{case.pk}/", "/api/v1/cases/")
    bodies = []
    for url in pages:
        response = client.get(url)
        if response.status_code == 200:
            bodies.append(response.content.decode())
    return "\n".join(bodies)


def test_a_kept_cases_free_text_names_the_deleted_person_to_qa_only(client: Any, org: dict[str, Any], dpo: Any,  # noqa: F811
                                                                     qa: Any, person: Any) -> None:  # noqa: F811
    from pharmacrm.service.models import Case, CaseNote

    complaint = _kept_case_naming(org, dpo, person)
    assert Case.objects.get(pk=complaint.pk).description == "樊嘉主任说两盒外包装破损。"  # stored as entered
    assert CaseNote.objects.get(case=complaint).body == "已向樊嘉主任致歉"
    login(client, qa)
    shown = client.get(complaint.get_absolute_url()).content.decode()
    assert "樊嘉主任说两盒外包装破损" in shown and "已向樊嘉主任致歉" in shown
    assert "樊嘉主任" in client.get(f"/api/v1/cases/{complaint.pk}/").json()["description"]
    for user in (org["rep_east"], org["manager_east"], org["steward"], org["compliance"]):
        login(client, user)
        body = _case_surfaces(client, complaint)
        assert "樊嘉" not in body, user.username
    login(client, org["rep_east"])
    api = client.get(f"/api/v1/cases/{complaint.pk}/").json()
    assert (api["title"], api["description"], api["notes"][0]["body"]) == (
        "***主任反映包装破损", "***主任说两盒外包装破损。", "已向***主任致歉")
    assert "***主任说两盒外包装破损" in client.get(complaint.get_absolute_url()).content.decode()


def test_the_free_text_check_notices_an_unmasked_surface(client: Any, org: dict[str, Any], dpo: Any,  # noqa: F811
                                                         person: Any, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    from pharmacrm.privacy import retained

    complaint = _kept_case_naming(org, dpo, person)
    monkeypatch.setattr(retained, "may_read", lambda viewer: True)  # the mask switched off
    login(client, org["rep_east"])
    assert "樊嘉" in _case_surfaces(client, complaint)


def test_correction_goes_through_the_audited_update(org: dict[str, Any], dpo: Any, person: Any) -> None:  # noqa: F811
    from pharmacrm.core.models import AuditEntry
    from pharmacrm.privacy import services

    request = services.open_request(actor=dpo, kind="correction", contact=person, received_on=datetime.date.today(),
                                    corrections={"department": "肝胆外科"})
    services.complete_request(actor=dpo, subject_request=request)
    person.refresh_from_db()
    assert person.department == "肝胆外科"
    entry = AuditEntry.objects.for_object(person).order_by("-id").first()
    assert entry.changes["department"] == ["肝外科", "肝胆外科"] and entry.actor_id == dpo.pk
    assert str(request) in entry.reason


def test_the_dpo_works_requests_in_the_pages(client: Any, dpo: Any, person: Any) -> None:  # noqa: F811
    from pharmacrm.privacy.models import SubjectRequest

    login(client, dpo)
    response = client.post("/privacy/requests/new/", {"kind": "access", "contact": person.pk,
                                                      "received_on": datetime.date.today().isoformat(),
                                                      "channel": "电话", "details": "要一份我的资料"})
    assert response.status_code == 302
    request = SubjectRequest.objects.get()
    page = client.get(f"/privacy/requests/{request.pk}/")
    assert page.status_code == 200 and "要一份我的资料" in page.content.decode()
    bad = client.post("/privacy/requests/new/", {"kind": "correction", "contact": person.pk,
                                                 "received_on": datetime.date.today().isoformat()})
    assert bad.status_code == 400  # a correction says what to correct
    copy = client.post(f"/privacy/requests/{request.pk}/complete/", {"outcome": "已发送"})
    assert copy.status_code == 200 and copy["Content-Disposition"].startswith("attachment")
    assert MOBILE in copy.content.decode()
    assert client.get(f"/privacy/access-log/?person={person.pk}").status_code == 200
