"""Content delivered to a customer's contacts on the customer's timeline, and to a contact on theirs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext as _

from pharmacrm.content.models import ContentDelivery
from pharmacrm.customers.timeline import TimelineItem, register, register_contact


def _deliveries(user: Any, limit: int, rows: Any) -> list[TimelineItem]:
    if not user.has_perm("content.view_contentdelivery"):
        return []
    rows = (rows & ContentDelivery.objects.visible_to(user)).select_related("item", "contact", "push__sent_by")
    return [TimelineItem(when=row.delivered_at, title=_("Content sent: %(title)s") % {"title": row.item.title},
                         detail=f"{row.item.get_kind_display()} · {row.get_channel_display()} · {row.contact.name}",
                         url=row.item.get_absolute_url(), icon="bi-journal-richtext",
                         actor=row.push.sent_by.get_full_name() or row.push.sent_by.username)
            for row in rows.order_by("-delivered_at", "-id")[:limit]]


@register
def content_events(institution: Any, user: Any, limit: int) -> Iterable[TimelineItem]:
    return _deliveries(user, limit, ContentDelivery.objects.filter(institution=institution))


@register_contact
def contact_content(contact: Any, user: Any, limit: int) -> Iterable[TimelineItem]:
    return _deliveries(user, limit, ContentDelivery.objects.filter(contact=contact))
