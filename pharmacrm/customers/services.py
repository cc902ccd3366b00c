"""Writes on institutions and contacts (the customer-master issue adds stewardship rules)."""

from __future__ import annotations

from typing import Any

from pharmacrm.core.audit import audited_create, audited_update
from pharmacrm.customers.models import Contact, Institution
from pharmacrm.org.scope import authorize

INSTITUTION_EDITABLE = ("name", "short_name", "kind", "hospital_grade", "status", "address", "phone")
CONTACT_EDITABLE = ("name", "gender", "department", "title", "mobile")


def create_institution(*, actor: Any, **fields: Any) -> Institution:
    """A new terminal customer, owned by a rep; its team follows the owner."""
    authorize(actor, "customers.add_institution")
    owner = fields["owner"]
    fields.setdefault("team", owner.team)
    return audited_create(Institution, actor=actor, **fields)


def update_institution(*, actor: Any, institution: Institution, changes: dict[str, Any],
                       expected_version: int | None = None, reason: str = "") -> Institution:
    """Edit the master fields a user may change (owner, team and territory are protected)."""
    authorize(actor, "customers.change_institution")
    allowed = {key: value for key, value in changes.items() if key in INSTITUTION_EDITABLE}
    return audited_update(institution, actor=actor, changes=allowed, expected_version=expected_version,
                          reason=reason)


def create_contact(*, actor: Any, institution: Institution, **fields: Any) -> Contact:
    authorize(actor, "customers.add_contact")
    allowed = {key: value for key, value in fields.items() if key in CONTACT_EDITABLE}
    return audited_create(Contact, actor=actor, institution=institution, **allowed)


def update_contact(*, actor: Any, contact: Contact, changes: dict[str, Any],
                   expected_version: int | None = None) -> Contact:
    authorize(actor, "customers.change_contact")
    allowed = {key: value for key, value in changes.items() if key in CONTACT_EDITABLE}
    return audited_update(contact, actor=actor, changes=allowed, expected_version=expected_version)
