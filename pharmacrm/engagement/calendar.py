"""A rep's visits as a calendar: week and month pages, and an iCalendar feed for the phone's calendar app.

The feed's address carries a random secret (``secrets.token_urlsafe``, 256 bits); only its SHA-256 is stored,
so the address is shown once, when made. Making a new one (or stopping it) ends the old one. The feed holds
what the rep's own visit list holds — customer, goal, time, address, a link — and nothing about the people met
(PIPL: personal data stays behind the sign-in).
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
from typing import Any

import icalendar
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pharmacrm.core.audit import audited_create, audited_delete, audited_update
from pharmacrm.engagement.choices import VisitStatus
from pharmacrm.engagement.models import CalendarFeed, Visit
from pharmacrm.org.models import User
from pharmacrm.org.scope import authorize

#: what the feed covers: the past month and the next half year
FEED_PAST_DAYS = 31
FEED_FUTURE_DAYS = 183
#: a visit's length in a calendar app when it has no check-out
VISIT_LENGTH = datetime.timedelta(hours=1)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_feed(*, actor: Any) -> str:
    """Make (or replace) the actor's feed address; returns the secret, which is not kept."""
    authorize(actor, "engagement.view_visit")
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        feed = CalendarFeed.objects.filter(user=actor).first()
        if feed is None:
            audited_create(CalendarFeed, actor=actor, user=actor, token_hash=_digest(token))
        else:
            audited_update(feed, actor=actor, changes={"token_hash": _digest(token)},
                           reason=_("New calendar address; the old one stops working"))
    return token


def stop_feed(*, actor: Any) -> None:
    feed = CalendarFeed.objects.filter(user=actor).first()
    if feed is not None:
        audited_delete(feed, actor=actor, reason=_("Calendar address stopped"))


def has_feed(user: Any) -> bool:
    return CalendarFeed.objects.visible_to(user).exists()


def feed_owner(token: str) -> User | None:
    """The active user whose feed this secret opens, or None."""
    if not token or len(token) > 100:
        return None
    feed = CalendarFeed.objects.filter(token_hash=_digest(token)).select_related("user").first()
    if feed is None or not feed.user.is_active or not feed.user.has_perm("engagement.view_visit"):
        return None
    return feed.user


def visits_between(rep: Any, start: datetime.datetime, end: datetime.datetime) -> Any:
    return (Visit.objects.filter(rep=rep, planned_for__gte=start, planned_for__lt=end)
            .exclude(status=VisitStatus.CANCELLED).select_related("institution").order_by("planned_for", "id"))


def ics(rep: Any, base_url: str) -> bytes:
    """The rep's visits as an iCalendar document (RFC 5545)."""
    now = timezone.now()
    document = icalendar.Calendar()
    document.add("prodid", "-//PharmaCRM//engagement//ZH")
    document.add("version", "2.0")
    document.add("x-wr-calname", _("Visits · %(name)s") % {"name": rep.get_full_name() or rep.username})
    document.add("x-wr-timezone", "Asia/Shanghai")
    for visit in visits_between(rep, now - datetime.timedelta(days=FEED_PAST_DAYS),
                                now + datetime.timedelta(days=FEED_FUTURE_DAYS)):
        event = icalendar.Event()
        event.add("uid", f"visit-{visit.pk}@pharmacrm")
        event.add("dtstamp", visit.updated_at)
        event.add("dtstart", visit.checked_in_at or visit.planned_for)
        event.add("dtend", visit.checked_out_at or (visit.checked_in_at or visit.planned_for) + VISIT_LENGTH)
        event.add("summary", f"{visit.institution.name} · {visit.goal}")
        if visit.institution.address:
            event.add("location", visit.institution.address)
        event.add("description", "\n".join(filter(None, [visit.get_kind_display(), visit.reason, *visit.checklist])))
        event.add("url", f"{base_url}{visit.get_absolute_url()}")
        event.add("status", "TENTATIVE" if visit.status == VisitStatus.PLANNED else "CONFIRMED")
        document.add_component(event)
    return document.to_ical()
