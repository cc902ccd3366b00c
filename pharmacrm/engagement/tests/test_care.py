"""The care calendar: lunar birthdays on a different solar day each year, festivals, anniversaries, consent to
greetings, who sees birthdays, and the reminders ahead."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.urls import reverse
from django.utils import translation

from conftest import login
from pharmacrm.core.models import Notification
from pharmacrm.core.policy import today
from pharmacrm.customers import services as customers
from pharmacrm.engagement import care

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("year", "expected"), [
    (2025, datetime.date(2025, 10, 6)),  # 中秋 (lunar 8-15) moves across the solar calendar
    (2026, datetime.date(2026, 9, 25)),
    (2027, datetime.date(2027, 9, 15)),
])
def test_a_lunar_date_falls_on_its_solar_day_each_year(year: int, expected: datetime.date) -> None:
    assert care.lunar_to_solar(year, 8, 15) == expected


def test_lunar_edge_days_and_years_outside_the_calendar() -> None:
    # lunar 2026-12 has 29 days: a birthday on the 30th is kept on the 29th (the day before Spring Festival 2027)
    assert care.lunar_to_solar(2026, 12, 30) == datetime.date(2027, 2, 5)
    assert care.lunar_to_solar(2027, 1, 1) == datetime.date(2027, 2, 6)
    assert care.lunar_to_solar(99999, 1, 1) is None
    # a lunar 12th-month birthday of lunar 2026 falls in solar 2027: found from a January window
    assert care.occurrences(12, 30, "lunar", datetime.date(2027, 1, 1), datetime.date(2027, 2, 28)) == [
        datetime.date(2027, 2, 5)]
    # 29 February in a common year is the 28th
    assert care.occurrences(2, 29, "solar", datetime.date(2027, 2, 1), datetime.date(2027, 3, 1)) == [
        datetime.date(2027, 2, 28)]


def test_festivals_of_both_calendars() -> None:
    with translation.override("zh-hans"):
        found = {occasion.title: occasion.on for occasion in care.festivals(datetime.date(2026, 1, 1),
                                                                            datetime.date(2026, 12, 31))}
    assert found["春节"] == datetime.date(2026, 2, 17)
    assert found["端午节"] == datetime.date(2026, 6, 19)
    assert found["中国医师节"] == datetime.date(2026, 8, 19)
    assert found["护士节"] == datetime.date(2026, 5, 12)
    assert found["国庆节"] == datetime.date(2026, 10, 1)


@pytest.fixture
def doctors(org: dict[str, Any]) -> dict[str, Any]:
    lunar = customers.create_contact(actor=org["steward"], institution=org["institution_east"], name="农历医生",
                                     birthday=datetime.date(1970, 8, 15), birthday_calendar="lunar")
    solar = customers.create_contact(actor=org["steward"], institution=org["institution_east"], name="公历医生",
                                     birthday=datetime.date(1980, 9, 24))
    customers.record_consent(actor=org["steward"], contact=solar, channel="wechat", purpose="care",
                             granted_on=datetime.date(2026, 1, 1), evidence="签字同意书")
    return {"lunar": lunar, "solar": solar}


def test_the_calendar_of_a_rep_with_consent_to_greetings(org: dict[str, Any], doctors: dict[str, Any]) -> None:
    found = care.calendar_for(org["rep_east"], datetime.date(2026, 9, 20), datetime.date(2026, 9, 30))
    birthdays = {occasion.contact.name: occasion for occasion in found if occasion.kind == "birthday"}
    assert birthdays["农历医生"].on == datetime.date(2026, 9, 25)
    assert birthdays["公历医生"].on == datetime.date(2026, 9, 24)
    assert birthdays["公历医生"].greet_channels == ["wechat"] and birthdays["农历医生"].greet_channels == []
    assert care.calendar_for(org["rep_west"], datetime.date(2026, 9, 20), datetime.date(2026, 9, 30)) == [
        occasion for occasion in care.festivals(datetime.date(2026, 9, 20), datetime.date(2026, 9, 30))]


def test_roles_without_personal_data_rights_see_no_birthdays(client: Any, org: dict[str, Any],
                                                             doctors: dict[str, Any]) -> None:
    login(client, org["rep_east"])
    page = client.get(f"{reverse('engagement:care')}?start=2026-09-20").content.decode()
    assert "农历医生" in page and "公历医生" in page
    login(client, org["leader"])  # sees visits, not contacts' personal data
    page = client.get(f"{reverse('engagement:care')}?start=2026-09-20").content.decode()
    assert "农历医生" not in page and client.get(f"{reverse('engagement:care')}?start=junk").status_code == 200


def test_today_shows_this_weeks_birthdays(client: Any, org: dict[str, Any]) -> None:
    customers.create_contact(actor=org["steward"], institution=org["institution_east"], name="本周生日医生",
                             birthday=today() + datetime.timedelta(days=2))
    login(client, org["rep_east"])
    assert "本周生日医生" in client.get(reverse("engagement:today")).content.decode()


def test_reminders_ahead_go_to_the_contacts_rep(org: dict[str, Any], doctors: dict[str, Any]) -> None:
    # three days before lunar 8-15 of 2026 (25 September): the lunar birthday and Mid-Autumn
    assert [contact.name for contact in care.birthdays_on(datetime.date(2026, 9, 25))] == ["农历医生"]
    with translation.override("zh-hans"):
        assert care.send_reminders(on=datetime.date(2026, 9, 22)) >= 1
    told = Notification.objects.get(recipient=org["rep_east"])
    assert "农历医生" in told.body and "中秋节" in told.body
    west = Notification.objects.get(recipient=org["rep_west"])  # the festival only
    assert "农历医生" not in west.body


# --- greetings -----------------------------------------------------------------------------------------------------


@pytest.fixture
def approved(org: dict[str, Any]) -> Any:
    from pharmacrm.org.roles import Role
    from pharmacrm.org.services import create_user

    marketing = create_user(actor=None, username="marketing", full_name="市场部", role=Role.MARKETING,
                            team=org["teams"]["company"], email="mk@example.com", password="x" * 12)
    template = care.save_template(actor=marketing, title="中秋问候", text="{name}您好，中秋快乐！", occasion="festival")
    assert template.approved_at is None
    return care.approve_template(actor=org["compliance"], template=template)


def test_greetings_go_only_where_consent_allows(org: dict[str, Any], doctors: dict[str, Any], approved: Any) -> None:
    from pharmacrm.customers.models import Consent
    from pharmacrm.engagement.models import Greeting

    withdrawn = customers.create_contact(actor=org["steward"], institution=org["institution_east"], name="撤回医生")
    consent = customers.record_consent(actor=org["steward"], contact=withdrawn, channel="wechat", purpose="care",
                                       granted_on=datetime.date(2026, 1, 1), evidence="同意书")
    customers.withdraw_consent(actor=org["steward"], consent=Consent.objects.get(pk=consent.pk),
                               withdrawn_on=datetime.date(2026, 2, 1), note="本人撤回")
    elsewhere = customers.create_contact(actor=org["steward"], institution=org["institution_west"], name="西区医生")
    sent = care.send_greetings(actor=org["rep_east"], template=approved, channel="wechat",
                               contacts=[doctors["solar"], doctors["lunar"], withdrawn, elsewhere])
    assert [greeting.contact for greeting in sent.greeted] == [doctors["solar"]]
    assert sent.greeted[0].text == "公历医生您好，中秋快乐！"
    assert {contact.name for contact, _reason in sent.skipped} == {"农历医生", "撤回医生", "西区医生"}
    sent = care.send_greetings(actor=org["rep_east"], template=approved, channel="sms", contacts=[doctors["solar"]])
    assert not sent.greeted  # consent is per channel
    assert Greeting.objects.count() == 1 and Greeting.objects.visible_to(org["rep_west"]).count() == 0


def test_only_approved_templates_and_a_changed_text_needs_approval_again(org: dict[str, Any], doctors: dict[str, Any],
                                                                       approved: Any) -> None:
    from django.core.exceptions import PermissionDenied, ValidationError

    from pharmacrm.org.models import User

    changed = care.save_template(actor=User.objects.get(username="marketing"), template=approved, title="中秋问候",
                                 text="{name}您好！", occasion="festival")
    assert changed.approved_at is None
    with pytest.raises(ValidationError) as refused:
        care.send_greetings(actor=org["rep_east"], template=changed, channel="wechat", contacts=[doctors["solar"]])
    assert "template" in refused.value.message_dict
    with pytest.raises(PermissionDenied):
        care.approve_template(actor=org["rep_east"], template=changed)
    with pytest.raises(PermissionDenied):
        care.save_template(actor=org["rep_east"], title="自写", text="x", occasion="any")
    with pytest.raises(ValidationError):
        care.save_template(actor=User.objects.get(username="marketing"), title="", text="", occasion="any")


def test_greet_through_the_pages(client: Any, org: dict[str, Any], doctors: dict[str, Any], approved: Any) -> None:
    from pharmacrm.engagement.models import Greeting

    login(client, org["rep_east"])
    url = f"{reverse('engagement:greet')}?contact={doctors['solar'].pk}"
    assert client.post(url, {"template": approved.pk, "channel": "sms"}).status_code == 400  # not a consented channel
    assert client.post(url, {"template": approved.pk, "channel": "wechat"}).status_code == 302
    assert Greeting.objects.get().channel == "wechat"
    assert client.get(f"{reverse('engagement:greet')}?contact={doctors['lunar'].pk}").content.decode().count(
        "greet-form") == 0  # no consent: no form
    login(client, org["rep_west"])
    assert client.get(url).status_code == 404
    login(client, org["compliance"])
    page = client.get(reverse("engagement:greeting_templates")).content.decode()
    assert "中秋问候" in page


# --- API -----------------------------------------------------------------------------------------------------------


def test_the_care_calendar_through_the_api(api_client: Any, org: dict[str, Any], doctors: dict[str, Any]) -> None:
    api_client.force_authenticate(org["rep_east"])
    response = api_client.get("/api/v1/care/calendar/", {"start": "2026-09-20", "end": "2026-09-30"})
    assert response.status_code == 200
    birthdays = {row["contact"]: row for row in response.data if row["kind"] == "birthday"}
    assert birthdays[doctors["lunar"].pk]["on"] == "2026-09-25"
    assert birthdays[doctors["solar"].pk]["greet_channels"] == ["wechat"]
    assert any(row["kind"] == "festival" for row in response.data)
    for bad in ({"start": "junk"}, {"start": "2026-09-30", "end": "2026-09-01"},
                {"start": "2026-01-01", "end": "2026-12-31"}):
        assert api_client.get("/api/v1/care/calendar/", bad).status_code == 400, bad
    api_client.force_authenticate(org["rep_west"])  # another book: no birthdays of the east's contacts
    response = api_client.get("/api/v1/care/calendar/", {"start": "2026-09-20", "end": "2026-09-30"})
    assert not [row for row in response.data if row["kind"] == "birthday"]
    api_client.force_authenticate(org["steward"])  # no right to greetings
    assert api_client.get("/api/v1/care/calendar/").status_code == 403


def test_templates_and_greetings_through_the_api(api_client: Any, org: dict[str, Any], doctors: dict[str, Any],
                                                 approved: Any) -> None:
    from pharmacrm.engagement.models import Greeting, GreetingTemplate
    from pharmacrm.org.models import User

    writer = User.objects.get(username="marketing")
    api_client.force_authenticate(writer)
    for bad in ({}, {"title": "", "text": "x"}, {"title": "t" * 101, "text": "x"}, {"title": "t", "text": "长" * 501},
                {"title": "t", "text": "x", "occasion": "payday"}):
        assert api_client.post("/api/v1/care/templates/", bad, format="json").status_code == 400, bad
    response = api_client.post("/api/v1/care/templates/", {"title": "春节问候", "text": "{name}新春快乐",
                                                           "occasion": "festival"}, format="json")
    assert response.status_code == 201 and response.data["approved_at"] is None
    draft = response.data["id"]
    assert api_client.post(f"/api/v1/care/templates/{draft}/approve/").status_code == 403  # marketing does not
    api_client.force_authenticate(org["rep_east"])  # field roles see approved templates only
    assert [row["id"] for row in api_client.get("/api/v1/care/templates/").data["results"]] == [approved.pk]
    assert api_client.post("/api/v1/care/templates/", {"title": "t", "text": "x"}, format="json").status_code == 403
    response = api_client.post("/api/v1/care/greetings/", {"template": draft, "contacts": [doctors["solar"].pk],
                                                           "channel": "wechat"}, format="json")
    assert response.status_code == 400 and Greeting.objects.count() == 0  # not approved
    for bad in ({"template": approved.pk, "contacts": [], "channel": "wechat"},
                {"template": approved.pk, "contacts": [doctors["solar"].pk], "channel": "pigeon"},
                {"template": approved.pk, "contacts": ["x"], "channel": "wechat"}):
        assert api_client.post("/api/v1/care/greetings/", bad, format="json").status_code == 400, bad
    response = api_client.post("/api/v1/care/greetings/", {
        "template": approved.pk, "contacts": [doctors["solar"].pk, doctors["lunar"].pk], "channel": "wechat"},
        format="json")
    assert response.status_code == 201
    assert [row["contact"] for row in response.data["greeted"]] == [doctors["solar"].pk]
    assert [row["contact"] for row in response.data["skipped"]] == [doctors["lunar"].pk]
    assert [row["contact"] for row in api_client.get("/api/v1/care/greetings/").data["results"]] == [
        doctors["solar"].pk]
    api_client.force_authenticate(org["rep_west"])
    assert api_client.get("/api/v1/care/greetings/").data["results"] == []
    api_client.force_authenticate(org["compliance"])
    assert api_client.post(f"/api/v1/care/templates/{draft}/approve/").status_code == 428  # which version was read?
    read = api_client.get(f"/api/v1/care/templates/{draft}/")["ETag"]
    api_client.force_authenticate(writer)  # marketing changes the text after compliance read it
    assert api_client.patch(f"/api/v1/care/templates/{draft}/", {"text": "{name}春节快乐，阖家幸福"}, format="json",
                            HTTP_IF_MATCH=read).status_code == 200
    api_client.force_authenticate(org["compliance"])
    assert api_client.post(f"/api/v1/care/templates/{draft}/approve/", HTTP_IF_MATCH=read).status_code == 412
    assert GreetingTemplate.objects.get(pk=draft).approved_at is None  # not approved unseen
    response = api_client.post(f"/api/v1/care/templates/{draft}/approve/",
                               HTTP_IF_MATCH=api_client.get(f"/api/v1/care/templates/{draft}/")["ETag"])
    assert response.status_code == 200 and GreetingTemplate.objects.get(pk=draft).approved_at is not None
