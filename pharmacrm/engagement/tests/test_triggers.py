"""Special visits raised by events (seed 000 三.1 专项拜访): grade drops, falling purchases, expiring licences, new
customers — one visit per event, planned for the customer's rep, who is told once."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from pharmacrm.core.models import Notification
from pharmacrm.core.policy import today
from pharmacrm.core.querysets import allow_bulk_writes
from pharmacrm.customers.qualification import add_licence
from pharmacrm.engagement import services, triggers
from pharmacrm.engagement.choices import VisitKind, VisitStatus
from pharmacrm.engagement.models import Visit
from pharmacrm.engagement.tests.test_cadence import classify, customer
from pharmacrm.grading.models import Classification, GradeChange, GradingRun, RuleVersion

pytestmark = pytest.mark.django_db


def special(org: dict[str, Any]) -> dict[str, Visit]:
    return {visit.institution.name: visit for visit in Visit.objects.exclude(trigger="").select_related("institution")}


def quiet(org: dict[str, Any]) -> None:
    """The fixture's hospitals count as visited: they are not new customers here."""
    for key in ("institution_east", "institution_west"):
        rep = org["rep_east"] if key == "institution_east" else org["rep_west"]
        services.plan_visit(actor=rep, institution=org[key], planned_for=datetime.datetime.now(datetime.UTC),
                            goal="例行")


def test_falling_purchases_at_the_threshold_raise_a_problem_visit(org: dict[str, Any]) -> None:
    quiet(org)
    falling, steady = customer(org, "下滑诊所"), customer(org, "平稳诊所")
    services.plan_visit(actor=org["rep_east"], institution=falling, planned_for=datetime.datetime.now(datetime.UTC),
                        goal="例行")
    services.plan_visit(actor=org["rep_east"], institution=steady, planned_for=datetime.datetime.now(datetime.UTC),
                        goal="例行")
    classify(falling)
    classify(steady)
    with allow_bulk_writes():  # derived rows, as a grading run writes them
        Classification.objects.filter(institution=falling).update(amount_12_fen=70_000, amount_prev_12_fen=100_000)
        Classification.objects.filter(institution=steady).update(amount_12_fen=70_001, amount_prev_12_fen=100_000)
    assert triggers.raise_special_visits() == 1
    visit = special(org)["下滑诊所"]
    assert visit.kind == VisitKind.PROBLEM and "30%" in visit.reason and visit.rep == org["rep_east"]
    assert visit.status == VisitStatus.PLANNED
    assert visit.planned_for.date() == today() + datetime.timedelta(days=3)  # engagement.special_visit_lead_days
    assert Notification.objects.filter(recipient=org["rep_east"], url__contains="status=planned").count() == 1


def test_an_expiring_licence_raises_an_important_visit_once(org: dict[str, Any]) -> None:
    quiet(org)
    for days, number in ((10, "L-SOON"), (60, "L-LATER")):
        add_licence(actor=org["steward"], institution=org["institution_east"], kind="business",
                    number=number, valid_from=today() - datetime.timedelta(days=300),
                    valid_to=today() + datetime.timedelta(days=days))
    assert triggers.raise_special_visits() == 1
    visit = special(org)[org["institution_east"].name]
    assert visit.kind == VisitKind.IMPORTANT and visit.trigger.startswith("licence:")
    assert triggers.raise_special_visits() == 0  # the same event, the next morning: nothing new
    assert Notification.objects.filter(recipient=org["rep_east"], url__contains="status=planned").count() == 1


def test_a_grade_drop_raises_a_problem_visit_and_a_rise_does_not(org: dict[str, Any]) -> None:
    quiet(org)
    with allow_bulk_writes():  # a raw fixture: a finished nightly run
        run = GradingRun.objects.create(kind="nightly", as_of=today(), status="done")
    rule = RuleVersion.objects.filter(dimension="grade").first()
    for institution, old, new in ((org["institution_east"], "premium", "general"),
                                  (org["institution_west"], "potential", "general")):
        GradeChange.objects.create(institution=institution, run=run, changed_on=today(), dimension="grade", old=old,
                                   new=new, reason="data", new_rule=rule)
    assert triggers.raise_special_visits() == 1
    visit = special(org)[org["institution_east"].name]
    assert visit.kind == VisitKind.PROBLEM and visit.trigger == f"grade:{run.pk}"


def test_a_new_customer_without_a_visit_gets_its_first(org: dict[str, Any]) -> None:
    assert triggers.raise_special_visits() == 2  # the fixture's two hospitals, approved today, never visited
    found = special(org)
    assert {visit.kind for visit in found.values()} == {VisitKind.NEW}
    assert found[org["institution_west"].name].rep == org["rep_west"]
    assert triggers.raise_special_visits() == 0
