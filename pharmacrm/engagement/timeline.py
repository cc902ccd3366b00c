"""Visits, contacts and follow-ups on the customer's and the contact's timeline, and the buttons
"Plan a visit" and "Log a contact" on the customer page."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from pharmacrm.customers.timeline import PageAction, TimelineItem, register, register_action, register_contact
from pharmacrm.engagement.choices import VisitStatus
from pharmacrm.engagement.models import Communication, FollowUp, Visit

_VISIT_ICONS = {VisitStatus.PLANNED: "bi-calendar-event", VisitStatus.IN_PROGRESS: "bi-geo-alt",
                VisitStatus.SUBMITTED: "bi-journal-check", VisitStatus.REVIEWED: "bi-journal-check",
                VisitStatus.CANCELLED: "bi-calendar-x"}


def _visits(user: Any, limit: int, rows: Any) -> list[TimelineItem]:
    if not user.has_perm("engagement.view_visit"):
        return []
    rows = rows & Visit.objects.visible_to(user)
    items = []
    for visit in rows.select_related("rep", "institution").order_by("-planned_for", "-id")[:limit]:
        when = visit.submitted_at or visit.checked_in_at or visit.planned_for
        title = (_("Visit planned: %(goal)s") if visit.status == VisitStatus.PLANNED
                 else _("Visit: %(goal)s")) % {"goal": visit.goal}
        detail = f"{visit.get_status_display()} · {visit.get_channel_display() or visit.get_kind_display()}"
        items.append(TimelineItem(when=when, title=title, detail=detail, url=visit.get_absolute_url(),
                                  icon=_VISIT_ICONS.get(visit.status, "bi-calendar"),
                                  actor=visit.rep.get_full_name() or visit.rep.username))
    return items


def _communications(user: Any, limit: int, rows: Any) -> list[TimelineItem]:
    if not user.has_perm("engagement.view_communication"):
        return []
    rows = (rows & Communication.objects.visible_to(user)).select_related("by", "contact")
    return [TimelineItem(when=row.occurred_at, title=_("%(channel)s: %(summary)s") % {
        "channel": row.get_channel_display(), "summary": row.summary[:80]},
        detail=f"{row.get_direction_display()}{' · ' + row.contact.name if row.contact else ''}",
        url=row.get_absolute_url(), icon="bi-chat-left-text", actor=row.by.get_full_name() or row.by.username)
        for row in rows.order_by("-occurred_at", "-id")[:limit]]


def _follow_ups(user: Any, limit: int, rows: Any) -> list[TimelineItem]:
    if not user.has_perm("engagement.view_followup"):
        return []
    rows = (rows & FollowUp.objects.visible_to(user)).select_related("owner")
    return [TimelineItem(when=row.created_at, title=_("Follow-up: %(title)s") % {"title": row.title},
                         detail=f"{row.get_status_display()} · {_('due')} {row.due_on:%Y-%m-%d}",
                         url=row.get_absolute_url(), icon="bi-check2-square",
                         actor=row.owner.get_full_name() or row.owner.username)
            for row in rows.order_by("-id")[:limit]]


@register
def engagement_events(institution: Any, user: Any, limit: int) -> Iterable[TimelineItem]:
    return [*_visits(user, limit, Visit.objects.filter(institution=institution)),
            *_communications(user, limit, Communication.objects.filter(institution=institution)),
            *_follow_ups(user, limit, FollowUp.objects.filter(institution=institution))]


@register_contact
def contact_engagement(contact: Any, user: Any, limit: int) -> Iterable[TimelineItem]:
    """Visits where the contact was met and contacts logged with them, at whichever institution."""
    return [*_visits(user, limit, Visit.objects.filter(contacts_met=contact)),
            *_communications(user, limit, Communication.objects.filter(contact=contact))]


@register_action
def engage(institution: Any, user: Any) -> Iterable[Any]:
    actions = []
    if user.has_perm("engagement.add_visit"):
        actions.append(PageAction(_("Plan a visit"), f"{reverse('engagement:visit_create')}?institution={institution.pk}",
                                  "bi-calendar-plus"))
    if user.has_perm("engagement.add_communication"):
        actions.append(PageAction(_("Log a contact"),
                                  f"{reverse('engagement:communication_create')}?institution={institution.pk}",
                                  "bi-chat-left-text"))
    return actions
