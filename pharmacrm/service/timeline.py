"""Cases on the customer's and the contact's timeline, and the button "Log a case" on the customer page."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from pharmacrm.customers.timeline import PageAction, TimelineItem, register, register_action, register_contact
from pharmacrm.privacy.retained import masker
from pharmacrm.service.models import Case


def _cases(user: Any, limit: int, rows: Any) -> list[TimelineItem]:
    if not user.has_perm("service.view_case"):
        return []
    rows = (rows & Case.objects.visible_to(user)).select_related("owner")
    mask = masker(user)  # an anonymised complainant's name in a kept case's subject: QA only
    return [TimelineItem(when=case.received_at, title=_("%(kind)s: %(title)s") % {
        "kind": case.get_kind_display(), "title": mask(case.title)},
        detail=f"{case.number} · {case.get_status_display()}", url=case.get_absolute_url(),
        icon="bi-life-preserver", actor=case.owner.get_full_name() or case.owner.username)
        for case in rows.order_by("-received_at", "-id")[:limit]]


@register
def service_events(institution: Any, user: Any, limit: int) -> Iterable[TimelineItem]:
    return _cases(user, limit, Case.objects.filter(institution=institution))


@register_contact
def contact_cases(contact: Any, user: Any, limit: int) -> Iterable[TimelineItem]:
    return _cases(user, limit, Case.objects.filter(contact=contact))


@register_action
def log_case(institution: Any, user: Any) -> Iterable[Any]:
    if not user.has_perm("service.add_case"):
        return []
    return [PageAction(_("Log a case"), f"{reverse('service:case_create')}?institution={institution.pk}",
                       "bi-life-preserver")]
