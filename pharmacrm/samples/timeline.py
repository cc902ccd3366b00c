"""Disbursements on the customer's 360 page and on the recipient's page, and a "Hand out samples" button."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from pharmacrm.customers.timeline import PageAction, TimelineItem, register, register_action, register_contact
from pharmacrm.samples.models import Disbursement


def _events(user: Any, limit: int, **where: Any) -> Iterable[TimelineItem]:
    if not user.has_perm("samples.view_disbursement"):
        return []
    rows = (Disbursement.objects.visible_to(user).filter(**where)
            .select_related("contact", "institution", "lot__product", "holder").order_by("-id")[:limit])
    return [TimelineItem(when=row.disbursed_at, title=_("Samples to %(name)s: %(product)s × %(quantity)s") % {
        "name": row.contact.name, "product": row.lot.product.generic_name, "quantity": row.quantity},
        detail=f"{row.institution.name} · {row.place}" if "contact" in where else row.place,
        url=row.get_absolute_url(), icon="bi-box2-heart", actor=row.holder.get_full_name()) for row in rows]


@register
def disbursement_events(institution: Any, user: Any, limit: int) -> Iterable[TimelineItem]:
    return _events(user, limit, institution=institution)


@register_contact
def samples_received(contact: Any, user: Any, limit: int) -> Iterable[TimelineItem]:
    """Every sample the contact received, at whichever institution (they may work at several)."""
    return _events(user, limit, contact=contact)


@register_action
def hand_out_samples(institution: Any, user: Any) -> Iterable[PageAction]:
    if not user.has_perm("samples.add_disbursement"):
        return []
    return [PageAction(_("Hand out samples"), f"{reverse('samples:disbursement_create')}?institution={institution.pk}",
                       "bi-box2-heart")]
