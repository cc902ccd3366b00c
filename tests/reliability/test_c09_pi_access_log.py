"""Check 9 — PI access logging and consent gating (PIPL Art.14/15/29/55, CSL Art.21, GB/T 35273 §11.3).

Pass criterion: every detail read or export of a person (contact page, contact API detail, contact API
list with the ids returned, contact CSV export) writes ⟨viewer, subject ids, purpose, time⟩ to
``privacy.PersonalDataAccess``; saving a resident ID without separate consent → 400 on ``id_number``;
after a consent withdrawal the person is gone from content pushes, survey links, greeting lists and
marketing contact exports in the same transaction; the log is append-only in the database (UPDATE
refused, DELETE refused for rows younger than 180 days) and its retention parameter cannot go below
180 days; the purge job deletes only rows past retention. Each guard is switched off once to show
the check notices.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from conftest import login
from tests.reliability.privacy_fixtures import RESIDENT_ID, person  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def _last_access() -> Any:
    from pharmacrm.privacy.models import PersonalDataAccess

    return PersonalDataAccess.objects.order_by("-id").first()


def test_every_read_of_a_person_is_logged(client: Any, org: dict[str, Any], person: Any) -> None:  # noqa: F811
    from pharmacrm.privacy.models import PersonalDataAccess

    rep = org["rep_east"]
    login(client, rep)
    assert client.get(f"/customers/contacts/{person.pk}/").status_code == 200
    row = _last_access()
    assert (row.viewer, row.purpose, row.contact_ids, row.path) == (rep, "view", [person.pk],
                                                                    f"/customers/contacts/{person.pk}/")
    assert abs((row.at - timezone.now()).total_seconds()) < 5
    assert client.get(f"/api/v1/contacts/{person.pk}/").status_code == 200
    assert (_last_access().purpose, _last_access().contact_ids) == ("api_detail", [person.pk])
    listed = client.get("/api/v1/contacts/").json()["results"]
    assert (_last_access().purpose, _last_access().contact_ids) == ("api_list", sorted(r["id"] for r in listed))
    client.get("/customers/contacts/")
    assert _last_access().purpose == "list" and person.pk in _last_access().contact_ids
    login(client, org["manager_east"])
    response = client.get("/customers/contacts/?format=csv")
    assert response.status_code == 200 and "樊嘉" in b"".join(response.streaming_content).decode() \
        if response.streaming else "樊嘉" in response.content.decode()
    row = _last_access()
    assert (row.viewer, row.purpose) == (org["manager_east"], "export") and person.pk in row.contact_ids
    # another territory sees nothing and leaves no row about the person
    count = PersonalDataAccess.objects.count()
    login(client, org["rep_west"])
    assert client.get(f"/api/v1/contacts/{person.pk}/").status_code == 404
    assert PersonalDataAccess.objects.count() == count


def test_without_logging_the_check_notices(client: Any, org: dict[str, Any], person: Any,  # noqa: F811
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from pharmacrm.customers.api import views

    monkeypatch.setattr(views, "log_access", lambda *args, **kwargs: None)
    login(client, org["rep_east"])
    before = _last_access()
    client.get(f"/api/v1/contacts/{person.pk}/")
    assert _last_access() == before  # nothing written: the assertion above would have failed


def test_resident_id_needs_separate_consent(client: Any, org: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from pharmacrm.customers.models import Consent, Contact
    from pharmacrm.customers.services import create_contact

    contact = create_contact(actor=org["rep_east"], institution=org["institution_east"], name="王医生")
    login(client, org["rep_east"])
    url = f"/api/v1/contacts/{contact.pk}/"
    if_match = {"HTTP_IF_MATCH": f'"{contact.version}"'}
    response = client.patch(url, {"id_number": RESIDENT_ID}, content_type="application/json", **if_match)
    assert response.status_code == 400 and "id_number" in response.json()["error"]["fields"]
    contact.refresh_from_db()
    assert contact.id_number == "" and not Consent.objects.filter(contact=contact).exists()
    response = client.post("/api/v1/contacts/", {"institution": org["institution_east"].pk, "name": "新医生",
                                                 "id_number": RESIDENT_ID}, content_type="application/json")
    assert response.status_code == 400 and "id_number" in response.json()["error"]["fields"]
    assert not Contact.objects.filter(name="新医生").exists()
    response = client.patch(url, {"id_number": RESIDENT_ID, "sensitive_consent": "同意书 7"},
                            content_type="application/json", **if_match)
    assert response.status_code == 200
    contact.refresh_from_db()
    assert contact.id_number == RESIDENT_ID
    assert Consent.objects.get(contact=contact).purpose == "sensitive"
    # with the gate off, the first PATCH would have been accepted: the check notices
    from pharmacrm.customers import services

    other = create_contact(actor=org["rep_east"], institution=org["institution_east"], name="李医生")
    monkeypatch.setattr(services, "_check_sensitive", lambda *args, **kwargs: False)
    assert client.patch(f"/api/v1/contacts/{other.pk}/", {"id_number": RESIDENT_ID},
                        content_type="application/json", HTTP_IF_MATCH=f'"{other.version}"').status_code == 200


def test_withdrawal_removes_the_person_from_marketing_in_the_same_transaction(
        client: Any, org: dict[str, Any], person: Any) -> None:  # noqa: F811
    from pharmacrm.content.services import consented
    from pharmacrm.core.policy import today
    from pharmacrm.customers.models import Contact
    from pharmacrm.customers.services import record_consent, withdraw_consent
    from pharmacrm.engagement.care import greeting_channels
    from pharmacrm.surveys.services import survey_channels

    steward, day = org["steward"], today()
    consents = [record_consent(actor=steward, contact=person, channel="wechat", purpose=purpose,
                               granted_on=day - datetime.timedelta(days=30), evidence="表单")
                for purpose in ("academic", "survey", "care", "marketing")]

    def reached() -> dict[str, bool]:
        return {
            "content": Contact.objects.filter(pk=person.pk).filter(consented("wechat", day)).exists(),
            "survey": bool(survey_channels(person, day)),
            "greeting": bool(greeting_channels([person.pk], day).get(person.pk)),
            "export": Contact.objects.filter(pk=person.pk, consent_withdrawn=False).exists(),
        }

    assert reached() == {"content": True, "survey": True, "greeting": True, "export": True}
    with transaction.atomic():
        for consent in consents:
            withdraw_consent(actor=steward, consent=consent, withdrawn_on=day, note="不再联系")
        assert reached() == dict.fromkeys(("content", "survey", "greeting", "export"), False)
    login(client, org["manager_east"])
    response = client.get("/customers/contacts/?format=csv&purpose=marketing")
    body = b"".join(response.streaming_content).decode() if response.streaming else response.content.decode()
    assert response.status_code == 200 and "樊嘉" not in body
    response = client.get("/customers/contacts/?format=csv")  # a non-marketing list still shows the flag
    body = b"".join(response.streaming_content).decode() if response.streaming else response.content.decode()
    assert "樊嘉" in body


def _insert_access(at: datetime.datetime) -> int:
    from pharmacrm.privacy.models import PersonalDataAccess

    return PersonalDataAccess.objects.create(at=at, viewer_username="x", purpose="view", subject_ids=",1,",
                                             subject_count=1).pk


def test_access_log_is_append_only_with_a_180_day_floor(org: dict[str, Any]) -> None:
    from pharmacrm.core.dbguards import remove_pi_access_guard

    now = timezone.now()
    young, old = _insert_access(now - datetime.timedelta(days=179)), _insert_access(now - datetime.timedelta(days=200))
    for sql in ("UPDATE privacy_personaldataaccess SET purpose = 'export' WHERE id = %s",
                "DELETE FROM privacy_personaldataaccess WHERE id = %s"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [young])
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE privacy_personaldataaccess SET purpose = 'export' WHERE id = %s", [old])
    with transaction.atomic(), connection.cursor() as cursor:  # past the floor: the retention job may delete
        cursor.execute("DELETE FROM privacy_personaldataaccess WHERE id = %s", [old])
        assert cursor.rowcount == 1
    with transaction.atomic():  # the check can fail: without the trigger the young row goes
        remove_pi_access_guard(connection)
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM privacy_personaldataaccess WHERE id = %s", [young])
            assert cursor.rowcount == 1
        transaction.set_rollback(True)


def test_retention_policy_and_purge_job(org: dict[str, Any]) -> None:
    from django.core.exceptions import ValidationError

    from pharmacrm.core import policy
    from pharmacrm.privacy import services
    from pharmacrm.privacy.models import PersonalDataAccess
    from pharmacrm.privacy.policy import ACCESS_LOG_RETENTION_DAYS

    assert policy.get(ACCESS_LOG_RETENTION_DAYS.key) >= 180
    with pytest.raises(ValidationError):
        ACCESS_LOG_RETENTION_DAYS.clean(179)
    now = timezone.now()
    ages = [10, 179, 181, 300, 2000]
    ids = {age: _insert_access(now - datetime.timedelta(days=age)) for age in ages}
    policy.set_value(actor=org["admin"], key=ACCESS_LOG_RETENTION_DAYS.key, value=365, effective_from=policy.today(),
                     reason="test")
    assert services.purge_access_log() == 1  # only the 2000-day row
    assert set(PersonalDataAccess.objects.values_list("pk", flat=True)) >= {ids[10], ids[179], ids[181], ids[300]}
    assert not PersonalDataAccess.objects.filter(pk=ids[2000]).exists()
    assert services.purge_access_log() == 0  # idempotent
    # even a retention below the floor (forced past the validator) keeps every row younger than 180 days
    policy_get = policy.get
    try:
        policy.get = lambda key, on=None: 30 if key == ACCESS_LOG_RETENTION_DAYS.key else policy_get(key, on)
        assert services.purge_access_log() == 2  # the 181- and 300-day rows; 10 and 179 stay
    finally:
        policy.get = policy_get
    assert PersonalDataAccess.objects.filter(pk__in=[ids[10], ids[179]]).count() == 2


def test_a_rep_cannot_read_the_log(client: Any, org: dict[str, Any]) -> None:
    from tests.reliability.privacy_fixtures import make_user

    _insert_access(timezone.now())
    login(client, org["rep_east"])
    assert client.get("/api/v1/privacy/access-log/").status_code == 403
    assert client.get("/privacy/access-log/").status_code == 403
    login(client, make_user("dpo", "dpo"))
    assert client.get("/api/v1/privacy/access-log/").json()["results"]
    assert client.get("/privacy/access-log/?person=1").status_code == 200
