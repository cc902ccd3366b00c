"""One timeline per customer and one per contact, and the buttons other modules put on the customer page.

Later modules (visits, orders, cases) add their events through ``register`` (customer) and
``register_contact`` (contact) and their buttons ("New order") through ``register_action``; this module
contributes master-data events (created, reviewed, changes, licences).

A provider is ``provider(institution, user, limit) -> Iterable[TimelineItem]`` (``provider(contact, user,
limit)`` for a contact); it must return only what ``user`` may see. The page merges all providers newest
first.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.utils.translation import gettext as _

from pharmacrm.core.models import AuditAction, AuditEntry


@dataclass(frozen=True)
class TimelineItem:
    when: datetime.datetime
    title: str
    detail: str = ""
    url: str = ""
    icon: str = "bi-dot"
    actor: str = ""


Provider = Callable[[Any, Any, int], Iterable[TimelineItem]]
_providers: list[Provider] = []


def register(provider: Provider) -> Provider:
    """Add a provider (usable as a decorator); registering the same one twice is a no-op."""
    if provider not in _providers:
        _providers.append(provider)
    return provider


_contact_providers: list[Provider] = []


def register_contact(provider: Provider) -> Provider:
    """Add a provider of a contact's events (usable as a decorator); twice is a no-op."""
    if provider not in _contact_providers:
        _contact_providers.append(provider)
    return provider


def _merged(providers: list[Provider], subject: Any, user: Any, limit: int) -> list[TimelineItem]:
    collected: list[TimelineItem] = []
    for provider in providers:
        collected.extend(provider(subject, user, limit))
    return sorted(collected, key=lambda item: item.when, reverse=True)[:limit]


def items_for(institution: Any, user: Any, limit: int = 50) -> list[TimelineItem]:
    return _merged(_providers, institution, user, limit)


def contact_items_for(contact: Any, user: Any, limit: int = 50) -> list[TimelineItem]:
    return _merged(_contact_providers, contact, user, limit)


_ICONS = {AuditAction.CREATE: "bi-plus-circle", AuditAction.UPDATE: "bi-pencil",
          AuditAction.TRANSITION: "bi-arrow-right-circle", AuditAction.EXPORT: "bi-download"}


@register
def master_data_events(institution: Any, user: Any, limit: int) -> Iterable[TimelineItem]:
    """Creation, edits, review decisions and merges of the institution itself (its audit entries)."""
    if not type(institution).objects.history_visible_to(user).filter(pk=institution.pk).exists():
        return []
    content_type = ContentType.objects.get_for_model(type(institution))
    entries = (AuditEntry.objects.filter(content_type=content_type, object_id=str(institution.pk))
               .order_by("-id")[:limit])
    items = []
    for entry in entries:
        fields = ", ".join(sorted(entry.changes)) if isinstance(entry.changes, dict) else ""
        title = {AuditAction.CREATE: _("Customer created"), AuditAction.TRANSITION: _("Status changed")}.get(
            entry.action, _("Details changed"))
        if isinstance(entry.changes, dict) and "merge" in entry.changes:
            title = _("Duplicate merged into this customer")
        items.append(TimelineItem(when=entry.created_at, title=title, detail=fields if entry.action != "create" else "",
                                  icon=_ICONS.get(entry.action, "bi-dot"), actor=entry.actor_username))
    return items


# --- actions other modules offer on the customer page -------------------------------------------------


@dataclass(frozen=True)
class PageAction:
    label: str
    url: str
    icon: str = "bi-plus-lg"


ActionProvider = Callable[[Any, Any], Iterable[PageAction]]
_action_providers: list[ActionProvider] = []


def register_action(provider: ActionProvider) -> ActionProvider:
    """Add a button to the customer page header (``provider(institution, user)``; e.g. "New order")."""
    if provider not in _action_providers:
        _action_providers.append(provider)
    return provider


def actions_for(institution: Any, user: Any) -> list[PageAction]:
    return [action for provider in _action_providers for action in provider(institution, user)]
