"""Notifications: an in-app inbox per user, and email (SMTP when configured, else var/mail/ and a console line)."""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from pharmacrm.core.models import Notification
from pharmacrm.core.querysets import allow_bulk_writes


def notify(recipient: Any, title: str, body: str = "", url: str = "", *, email: bool = False) -> Notification:
    """Put a message in the user's inbox; mail it after commit when asked."""
    notification = Notification.objects.create(recipient=recipient, title=title[:200], body=body, url=url)
    if email and recipient.email:
        transaction.on_commit(lambda: _send_one(notification.pk))
    return notification


def notify_once_a_day(recipient: Any, title: str, body: str = "", url: str = "", *, email: bool = False,
                      on: datetime.date | None = None) -> Notification | None:
    """``notify`` unless the recipient got this message (title and link) on that day (China) already: jobs that
    remind by the day stay idempotent when run twice (RELIABILITY check 25)."""
    from pharmacrm.core import policy

    day_start = datetime.datetime.combine(on or policy.today(), datetime.time(), tzinfo=policy.CHINA)
    if Notification.objects.filter(recipient=recipient, title=title[:200], url=url, created_at__gte=day_start,
                                   created_at__lt=day_start + datetime.timedelta(days=1)).exists():
        return None
    return notify(recipient, title, body, url, email=email)


def _send_one(notification_id: int) -> None:
    notification = Notification.objects.select_related("recipient").get(pk=notification_id)
    send_mail(notification.title, notification.body, settings.DEFAULT_FROM_EMAIL, [notification.recipient.email])
    with allow_bulk_writes():
        Notification.objects.filter(pk=notification_id).update(emailed_at=timezone.now())


def mark_read(user: Any, notification_ids: list[int] | None = None) -> int:
    """Mark the user's notifications read (all of them when no ids are given)."""
    queryset = Notification.objects.visible_to(user).unread()
    if notification_ids is not None:
        queryset = queryset.filter(pk__in=notification_ids)
    with allow_bulk_writes():  # read receipts are not business records
        return queryset.update(read_at=timezone.now())


def send_daily_digest(now: datetime.datetime | None = None) -> int:
    """Mail each user the unread notifications of the last day that were not mailed yet."""
    now = now or timezone.now()
    since = now - datetime.timedelta(days=1)
    pending = (Notification.objects.filter(read_at__isnull=True, emailed_at__isnull=True, created_at__gte=since)
               .exclude(recipient__email="").select_related("recipient").order_by("recipient_id", "id"))
    by_user: dict[int, list[Notification]] = {}
    for notification in pending:
        by_user.setdefault(notification.recipient_id, []).append(notification)
    for items in by_user.values():
        recipient = items[0].recipient
        with override(recipient.language):
            subject = _("PharmaCRM: %(count)d unread notifications") % {"count": len(items)}
            lines = [f"- {item.title}" + (f"\n  {item.body}" if item.body else "") for item in items]
            send_mail(subject, "\n".join(lines), settings.DEFAULT_FROM_EMAIL, [recipient.email])
        with allow_bulk_writes():
            Notification.objects.filter(pk__in=[item.pk for item in items]).update(emailed_at=now)
    return len(by_user)
