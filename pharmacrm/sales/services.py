"""Catalogue writes: one service per action, used by pages, API and demo data alike."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from pharmacrm.core.audit import audited_create, audited_update
from pharmacrm.core.validators import normalize_approval_number
from pharmacrm.org.scope import authorize
from pharmacrm.sales.models import Product

PRODUCT_EDITABLE = ("code", "generic_name", "brand_name", "dosage_form", "strength", "pack", "approval_number",
                    "marketing_authorisation_holder", "therapeutic_area", "prescription_class",
                    "reimbursement_class", "volume_based_procurement", "procurement_price_fen", "list_price_fen",
                    "category", "status")


def _normalised(fields: dict[str, Any]) -> dict[str, Any]:
    allowed = {key: value for key, value in fields.items() if key in PRODUCT_EDITABLE}
    if "approval_number" in allowed:
        try:
            allowed["approval_number"] = normalize_approval_number(allowed["approval_number"])
        except ValidationError as error:
            raise ValidationError({"approval_number": error.messages}) from None
    for key in ("code", "generic_name", "brand_name", "strength", "pack", "marketing_authorisation_holder"):
        if isinstance(allowed.get(key), str):
            allowed[key] = allowed[key].strip()
    return allowed


def create_product(*, actor: Any, **fields: Any) -> Product:
    authorize(actor, "sales.add_product")
    return audited_create(Product, actor=actor, **_normalised(fields))


def update_product(*, actor: Any, product: Product, changes: dict[str, Any],
                   expected_version: int | None = None) -> Product:
    """Edit with optimistic locking; a product is never deleted (orders keep pointing at it): discontinue it."""
    authorize(actor, "sales.change_product")
    return audited_update(product, actor=actor, changes=_normalised(changes), expected_version=expected_version)
