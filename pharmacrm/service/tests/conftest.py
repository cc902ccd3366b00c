"""Service-desk people on top of the project's ``org`` fixture: a service desk agent, a medical adviser and a
pharmacovigilance officer; and a product."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import DEMO_PASSWORD
from pharmacrm.org.roles import Role
from pharmacrm.org.services import create_user


@pytest.fixture
def desk(org: dict[str, Any]) -> dict[str, Any]:
    company = org["teams"]["company"]
    people = {name: create_user(actor=None, username=name, full_name=name, role=role, team=company,
                                email=f"{name}@example.com", password=DEMO_PASSWORD)
              for name, role in (("agent", Role.SERVICE), ("medic", Role.MEDICAL), ("pv", Role.PHARMACOVIGILANCE))}
    from pharmacrm.sales.models import Product

    product = Product.objects.order_by("id").first()
    if product is None:
        from pharmacrm.sales import services as sales

        product = sales.create_product(
            actor=org["admin"], code="P001", generic_name="阿托伐他汀钙片", dosage_form="tablet", strength="20mg",
            pack="7片/盒", approval_number="国药准字H20051408", marketing_authorisation_holder="华康制药",
            therapeutic_area="cardiovascular", list_price_fen=3500, category="chemical")
    return {**org, **people, "product": product}
