"""Content pushes (seed 002 四.(二)): consent decides who receives, segments are grading classes, compliance approves
before any push, a contact never receives an item twice, and nothing is half-written."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pharmacrm.content import services
from pharmacrm.content.models import ContentDelivery, ContentPush
from pharmacrm.content.tests.conftest import LONG_AGO, doctor
from pharmacrm.core.policy import today
from pharmacrm.customers import services as customers
from pharmacrm.customers.models import Consent

pytestmark = pytest.mark.django_db


def test_only_contacts_with_academic_consent_on_the_channel_in_force_today_receive(people: dict[str, Any],
                                                                                   approved: Any) -> None:
    east = people["institution_east"]
    tomorrow = today() + datetime.timedelta(days=1)
    consenting = doctor(people, east, "同意医生", ("wechat", "academic", LONG_AGO))
    doctor(people, east, "未同意医生")
    withdrawn = doctor(people, east, "撤回医生", ("wechat", "academic", LONG_AGO))
    customers.withdraw_consent(actor=people["steward"], consent=Consent.objects.get(contact=withdrawn),
                               withdrawn_on=today())
    doctor(people, east, "邮件医生", ("email", "academic", LONG_AGO))
    doctor(people, east, "问候医生", ("wechat", "care", LONG_AGO))
    doctor(people, east, "明天同意医生", ("wechat", "academic", tomorrow))
    later = doctor(people, east, "下月撤回医生", ("wechat", "academic", LONG_AGO))
    customers.withdraw_consent(actor=people["steward"], consent=Consent.objects.get(contact=later),
                               withdrawn_on=tomorrow)  # a withdrawal dated later is not in force yet

    preview = services.preview_push(item=approved, dimension="depth", klass="core", channel="wechat")
    assert (preview.in_segment, preview.will_receive, preview.withdrawn, preview.no_consent, preview.already) == (
        7, 2, 1, 4, 0)
    push = services.send_push(actor=people["marketing"], item=approved, dimension="depth", klass="core",
                              channel="wechat")
    received = set(ContentDelivery.objects.filter(push=push).values_list("contact__name", flat=True))
    assert received == {consenting.name, later.name}
    assert (push.in_segment, push.delivered, push.skipped_withdrawn, push.skipped_no_consent) == (7, 2, 1, 4)
    row = ContentDelivery.objects.get(contact=consenting)
    assert (row.item, row.institution, row.channel, row.delivered_at) == (approved, east, "wechat", push.sent_at)


def test_a_segment_is_the_customers_of_one_class(people: dict[str, Any], approved: Any) -> None:
    east_core = doctor(people, people["institution_east"], "核心东", ("wechat", "academic", LONG_AGO))
    west_core = doctor(people, people["institution_west"], "核心西", ("wechat", "academic", LONG_AGO))
    potential = doctor(people, people["potential_east"], "潜力", ("wechat", "academic", LONG_AGO))
    assert set(services.segment_contacts("depth", "core", today())) == {east_core, west_core}
    assert set(services.segment_contacts("depth", "potential", today())) == {potential}
    assert set(services.segment_contacts("grade", "premium", today())) == {east_core, west_core}
    assert set(services.segment_contacts("customer_type", "public_hospital", today())) == {
        east_core, west_core, potential}
    push = services.send_push(actor=people["marketing"], item=approved, dimension="depth", klass="potential",
                              channel="wechat")
    assert list(ContentDelivery.objects.values_list("contact", flat=True)) == [potential.pk]
    assert push.delivered == 1


def test_contacts_who_left_and_customers_merged_or_terminated_are_not_targeted(people: dict[str, Any]) -> None:
    from pharmacrm.core.audit import audited_update
    from pharmacrm.customers.models import Affiliation

    stays = doctor(people, people["institution_east"], "在职", ("wechat", "academic", LONG_AGO))
    left = doctor(people, people["institution_east"], "离职", ("wechat", "academic", LONG_AGO))
    customers.end_affiliation(actor=people["steward"], affiliation=Affiliation.objects.get(contact=left),
                              end_date=today() - datetime.timedelta(days=1))
    doctor(people, people["institution_west"], "终止合作", ("wechat", "academic", LONG_AGO))
    audited_update(people["institution_west"], actor=None, changes={"status": "terminated"})
    assert list(services.segment_contacts("depth", "core", today())) == [stays]


def test_an_item_is_pushed_only_once_approved_and_again_only_after_a_change_is_approved(people: dict[str, Any]) -> None:
    doctor(people, people["institution_east"], "王医生", ("wechat", "academic", LONG_AGO))
    item = services.save_item(actor=people["marketing"], kind="policy", title="DRG支付改革对科室用药的影响",
                              interpretation="按病组付费后，住院用药更看重性价比。")
    assert not item.approved

    def push() -> Any:
        return services.send_push(actor=people["marketing"], item=item, dimension="depth", klass="core",
                                  channel="wechat")

    with pytest.raises(ValidationError) as refused:
        push()
    assert "item" in refused.value.message_dict and not ContentPush.objects.exists()
    with pytest.raises(PermissionDenied):  # marketing writes, compliance approves
        services.approve_item(actor=people["marketing"], item=item)
    item = services.approve_item(actor=people["compliance"], item=item)
    item = services.save_item(actor=people["marketing"], item=item, kind="policy", title=item.title,
                              interpretation=item.interpretation)  # nothing changed: still approved
    assert item.approved
    item = services.save_item(actor=people["marketing"], item=item, kind="policy", title=item.title,
                              interpretation="按病组付费后，住院用药更看重疗效。")
    assert not item.approved and item.approved_by is None
    with pytest.raises(ValidationError):
        push()
    item = services.approve_item(actor=people["compliance"], item=item)
    assert push().delivered == 1


def test_a_repush_reaches_only_the_new_ones(people: dict[str, Any], approved: Any) -> None:
    first = doctor(people, people["institution_east"], "第一位", ("wechat", "academic", LONG_AGO))
    services.send_push(actor=people["marketing"], item=approved, dimension="depth", klass="core", channel="wechat")
    second = doctor(people, people["institution_west"], "第二位", ("email", "academic", LONG_AGO))
    again = services.send_push(actor=people["marketing"], item=approved, dimension="depth", klass="core",
                               channel="email")
    assert (again.delivered, again.skipped_already, again.skipped_no_consent) == (1, 1, 0)
    assert sorted(ContentDelivery.objects.values_list("contact", flat=True)) == sorted([first.pk, second.pk])
    third = services.send_push(actor=people["marketing"], item=approved, dimension="grade", klass="premium",
                               channel="wechat")
    assert (third.delivered, third.skipped_already) == (0, 2)
    assert ContentDelivery.objects.count() == 2


def test_a_push_is_set_based_whatever_the_segment_size(people: dict[str, Any], approved: Any) -> None:
    for number in range(30):
        doctor(people, people["institution_east"], f"医生{number}", ("wechat", "academic", LONG_AGO))
    with CaptureQueriesContext(connection) as queries:
        push = services.send_push(actor=people["marketing"], item=approved, dimension="depth", klass="core",
                                  channel="wechat")
    assert push.delivered == 30
    inserts = [query["sql"] for query in queries if "INSERT INTO \"content_contentdelivery\"" in query["sql"]]
    assert len(inserts) == 1 and "SELECT" in inserts[0]
    assert len(queries) < 25


def test_a_failed_push_writes_nothing(people: dict[str, Any], approved: Any, monkeypatch: Any) -> None:
    doctor(people, people["institution_east"], "王医生", ("wechat", "academic", LONG_AGO))

    def broken(push: Any, on: Any) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "_insert_deliveries", broken)
    with pytest.raises(RuntimeError):
        services.send_push(actor=people["marketing"], item=approved, dimension="depth", klass="core",
                           channel="wechat")
    assert not ContentPush.objects.exists() and not ContentDelivery.objects.exists()


def test_only_marketing_pushes_and_only_compliance_approves(people: dict[str, Any], approved: Any) -> None:
    for role in ("rep_east", "manager_east", "compliance", "leader"):
        with pytest.raises(PermissionDenied):
            services.send_push(actor=people[role], item=approved, dimension="depth", klass="core", channel="wechat")
    item = services.save_item(actor=people["marketing"], kind="trend", title="县域医疗政策红利",
                              interpretation="县域医共体建设带来基层用药增量。")
    for role in ("rep_east", "marketing", "leader"):
        with pytest.raises((PermissionDenied, ValidationError)):
            services.approve_item(actor=people[role], item=item)
    with pytest.raises(PermissionDenied):
        services.save_item(actor=people["compliance"], kind="trend", title="x", interpretation="y")


def test_bad_segments_channels_and_schedules_are_refused(people: dict[str, Any], approved: Any) -> None:
    for dimension, klass, channel, field in (("depth", "premium", "wechat", "klass"), ("colour", "core", "wechat",
                                             "dimension"), ("depth", "core", "pigeon", "channel")):
        with pytest.raises(ValidationError) as refused:
            services.send_push(actor=people["marketing"], item=approved, dimension=dimension, klass=klass,
                               channel=channel)
        assert field in refused.value.message_dict
    schedule = services.save_schedule(actor=people["marketing"], dimension="depth", klass="potential", kind="trend",
                                      every_days=60, channel="wechat")
    with pytest.raises(ValidationError) as refused:  # a paper is not what this schedule pushes
        services.send_push(actor=people["marketing"], item=approved, schedule=schedule)
    assert "item" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        services.save_schedule(actor=people["marketing"], dimension="depth", klass="potential", kind="trend",
                               every_days=30, channel="email")
    assert "kind" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        services.save_schedule(actor=people["marketing"], dimension="depth", klass="core", kind="policy",
                               every_days=0, channel="email")
    assert "every_days" in refused.value.message_dict
    assert not ContentPush.objects.exists()


def test_schedules_are_due_when_their_segment_had_no_push_of_their_kind_within_their_days(
        people: dict[str, Any], approved: Any) -> None:
    weekly = services.save_schedule(actor=people["marketing"], dimension="depth", klass="core", kind="literature",
                                    every_days=7, channel="wechat")
    monthly = services.save_schedule(actor=people["marketing"], dimension="depth", klass="core", kind="policy",
                                     every_days=30, channel="wechat")
    statuses = {status.schedule.pk: status.due for status in services.schedule_statuses(
        type(weekly).objects.all())}
    assert statuses == {weekly.pk: True, monthly.pk: True}
    services.send_push(actor=people["marketing"], item=approved, schedule=weekly)
    statuses = {status.schedule.pk: status.due for status in services.schedule_statuses(type(weekly).objects.all())}
    assert statuses == {weekly.pk: False, monthly.pk: True}
    later = today() + datetime.timedelta(days=7)
    statuses = {status.schedule.pk: status.due for status in services.schedule_statuses(
        type(weekly).objects.all(), on=later)}
    assert statuses[weekly.pk] is True
