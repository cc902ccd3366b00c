"""The visit calendar (week, month) and the iCalendar feed behind a secret address."""

from __future__ import annotations

import datetime
from typing import Any

import icalendar
import pytest
from django.urls import reverse
from django.utils import timezone

from conftest import login
from pharmacrm.core.audit import audited_update
from pharmacrm.customers import services as customers
from pharmacrm.engagement import calendar, services
from pharmacrm.engagement.models import CalendarFeed

pytestmark = pytest.mark.django_db


def feed_response(client: Any, token: str) -> Any:
    return client.get(reverse("engagement:calendar_feed", args=[token]), secure=True)


def test_week_and_month_show_the_reps_visits_and_only_theirs(client: Any, org: dict[str, Any]) -> None:
    services.plan_visit(actor=org["rep_east"], institution=org["institution_east"], planned_for=timezone.now(),
                        goal="周视图里的拜访")
    services.plan_visit(actor=org["rep_west"], institution=org["institution_west"], planned_for=timezone.now(),
                        goal="西区的拜访")
    login(client, org["rep_east"])
    for view in ("week", "month"):
        page = client.get(f"{reverse('engagement:calendar')}?view={view}").content.decode()
        assert org["institution_east"].name in page and org["institution_west"].name not in page
    page = client.get(f"{reverse('engagement:calendar')}?rep={org['rep_west'].pk}").content.decode()
    assert org["institution_west"].name not in page  # not in scope: their own calendar instead
    assert client.get(f"{reverse('engagement:calendar')}?start=not-a-date&view=month").status_code == 200
    login(client, org["manager_east"])
    page = client.get(f"{reverse('engagement:calendar')}?rep={org['rep_east'].pk}").content.decode()
    assert org["institution_east"].name in page


def test_the_feed_serves_the_reps_visits_behind_its_secret(client: Any, org: dict[str, Any]) -> None:
    doctor = customers.create_contact(actor=org["steward"], institution=org["institution_east"], name="王医生")
    services.plan_visit(actor=org["rep_east"], institution=org["institution_east"],
                        planned_for=timezone.now() + datetime.timedelta(days=2), goal="介绍新适应症",
                        contacts=[doctor], content="产品手册")
    login(client, org["rep_east"])
    response = client.post(reverse("engagement:calendar"), {"feed": "new"})
    assert response.status_code == 200
    url = response.context["feed_url"]
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    assert len(token) >= 40 and CalendarFeed.objects.get().token_hash != token  # only the digest is kept
    client.logout()  # a calendar app has no session
    response = feed_response(client, token)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    assert response["Cache-Control"] == "no-store"  # a rep's schedule stays out of caches
    events = [item for item in icalendar.Calendar.from_ical(response.content).walk("VEVENT")]
    assert [str(event["summary"]) for event in events] == [f"{org['institution_east'].name} · 介绍新适应症"]
    assert "王医生" not in response.content.decode()  # nothing about the people met
    assert feed_response(client, token[:-1] + ("A" if token[-1] != "A" else "B")).status_code == 404
    assert feed_response(client, "x" * 500).status_code == 404


def test_a_new_address_ends_the_old_and_a_stopped_or_deactivated_feed_ends(client: Any, org: dict[str, Any]) -> None:
    old = calendar.new_feed(actor=org["rep_east"])
    new = calendar.new_feed(actor=org["rep_east"])
    assert feed_response(client, old).status_code == 404 and feed_response(client, new).status_code == 200
    calendar.stop_feed(actor=org["rep_east"])
    assert feed_response(client, new).status_code == 404
    again = calendar.new_feed(actor=org["rep_east"])
    audited_update(org["rep_east"], actor=org["admin"], changes={"is_active": False}, reason="离职")
    assert feed_response(client, again).status_code == 404
