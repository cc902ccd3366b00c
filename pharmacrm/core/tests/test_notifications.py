"""Notifications: inbox with unread count, email after commit, daily digest, htmx partials."""

from __future__ import annotations

import datetime
from typing import Any

from django.core import mail
from django.utils import timezone

from conftest import login
from pharmacrm.core.notifications import mark_read, notify, send_daily_digest


def test_unread_count_in_the_bell_and_mark_read(client: Any, org: dict[str, Any]) -> None:
    rep = org["rep_east"]
    notify(rep, "许可证将于30天后到期")
    notify(rep, "新的审批")
    login(client, rep)
    page = client.get("/").content.decode()
    assert 'data-unread>2<' in page
    client.post("/notifications/read/")
    assert "data-unread" not in client.get("/").content.decode()


def test_email_is_sent_only_after_commit(org: dict[str, Any], django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        notification = notify(org["rep_east"], "拜访计划已批准", "第46周计划", email=True)
        assert mail.outbox == []
    assert [message.to for message in mail.outbox] == [["rep_east@example.com"]]
    notification.refresh_from_db()
    assert notification.emailed_at is not None


def test_daily_digest_mails_each_user_once(org: dict[str, Any]) -> None:
    notify(org["rep_east"], "提醒一")
    notify(org["rep_east"], "提醒二")
    notify(org["rep_west"], "提醒三")
    read = notify(org["manager_east"], "已读")
    mark_read(org["manager_east"], [read.pk])
    assert send_daily_digest() == 2
    assert sorted(message.to[0] for message in mail.outbox) == ["rep_east@example.com", "rep_west@example.com"]
    assert "提醒一" in next(m.body for m in mail.outbox if m.to == ["rep_east@example.com"])
    assert send_daily_digest() == 0  # a second run mails nothing again
    assert send_daily_digest(timezone.now() + datetime.timedelta(days=3)) == 0


def test_list_answers_htmx_with_the_rows_partial_only(client: Any, org: dict[str, Any]) -> None:
    login(client, org["steward"])
    full = client.get("/customers/institutions/").content.decode()
    partial = client.get("/customers/institutions/", {"q": "复旦"}, HTTP_HX_REQUEST="true",
                         HTTP_HX_TARGET="rows").content.decode()
    assert "<nav" in full and "<html" in full
    assert "<html" not in partial and "复旦大学附属中山医院" in partial and "四川大学华西医院" not in partial


def test_digest_job_runs_at_the_policy_hour(org: dict[str, Any]) -> None:
    import time_machine

    from pharmacrm.core import policy, tasks

    notify(org["rep_east"], "提醒")
    policy.set_value(actor=org["admin"], key="notifications.digest_hour", value=9, effective_from=policy.today(),
                     reason="九点上班")
    now = timezone.localtime()
    with time_machine.travel(now.replace(hour=8, minute=0), tick=False):
        tasks.daily_digest.call_local()
    assert mail.outbox == []
    with time_machine.travel(now.replace(hour=9, minute=0), tick=False):
        tasks.daily_digest.call_local()
    assert [message.to for message in mail.outbox] == [["rep_east@example.com"]]
