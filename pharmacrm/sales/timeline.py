"""Orders on the customer's 360 page: each status change on the timeline, and a "New order" button."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils.translation import gettext as _

from pharmacrm.core.models import AuditAction, AuditEntry
from pharmacrm.customers.timeline import PageAction, TimelineItem, register, register_action
from pharmacrm.sales.choices import OrderStatus
from pharmacrm.sales.models import Order


@register
def order_events(institution: Any, user: Any, limit: int) -> Iterable[TimelineItem]:
    if not user.has_perm("sales.view_order"):
        return []
    visible = {order.pk: order for order in
               Order.objects.visible_to(user).filter(institution=institution).order_by("-id")[:limit]}
    if not visible:
        return []
    entries = (AuditEntry.objects.filter(content_type=ContentType.objects.get_for_model(Order),
                                         object_id__in=[str(pk) for pk in visible],
                                         action__in=[AuditAction.CREATE, AuditAction.TRANSITION])
               .order_by("-id")[:limit])
    items = []
    for entry in entries:
        order = visible[int(entry.object_id)]
        if entry.action == AuditAction.CREATE:
            title = _("Order %(number)s drafted") % {"number": order.number}
        else:
            status = (entry.changes or {}).get("status", [None, ""])[1]
            label = OrderStatus(status).label if status in OrderStatus.values else status
            title = _("Order %(number)s: %(status)s") % {"number": order.number, "status": label}
        items.append(TimelineItem(when=entry.created_at, title=title, detail=entry.reason, url=order.get_absolute_url(),
                                  icon="bi-cart", actor=entry.actor_username))
    return items


@register_action
def new_order(institution: Any, user: Any) -> Iterable[PageAction]:
    actions = []
    if user.has_perm("sales.add_order"):
        actions.append(PageAction(_("New order"), f"{reverse('sales:order_create')}?institution={institution.pk}",
                                  "bi-cart-plus"))
    if user.has_perm("sales.change_creditlimit"):
        actions.append(PageAction(_("Credit limit"), reverse("sales:credit_limit", args=[institution.pk]), "bi-bank"))
    return actions
