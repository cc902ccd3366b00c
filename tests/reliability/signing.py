"""What the e-signature checks (6, 7, 15) sign: complaint and quality cases of the service desk, closed under a
signature by quality assurance or the service desk (``service.services.sign_case``)."""

from __future__ import annotations

from typing import Any

from conftest import DEMO_PASSWORD
from pharmacrm.org.roles import Role
from pharmacrm.org.services import create_user
from pharmacrm.service import services
from pharmacrm.service.choices import CaseStatus
from pharmacrm.service.models import Case


def signers(org: dict[str, Any]) -> dict[str, Any]:
    """A QA officer, a service-desk agent and a product, on top of ``org``."""
    company = org["teams"]["company"]
    people = {name: create_user(actor=None, username=name, full_name=full_name, role=role, team=company,
                                email=f"{name}@example.com", password=DEMO_PASSWORD)
              for name, full_name, role in (("qa", "质量保证 王敏", Role.QA), ("agent", "客服 李娜", Role.SERVICE))}
    from pharmacrm.sales import services as sales
    from pharmacrm.sales.models import Product

    product = Product.objects.order_by("id").first() or sales.create_product(
        actor=org["admin"], code="P001", generic_name="阿托伐他汀钙片", dosage_form="tablet", strength="20mg",
        pack="7片/盒", approval_number="国药准字H20051408", marketing_authorisation_holder="华康制药",
        therapeutic_area="cardiovascular", list_price_fen=3500, category="chemical")
    return {**org, **people, "product": product}


def quality_case(world: dict[str, Any], *, closed: bool = False, title: str = "批号 A123 药片变色") -> Case:
    """A quality case worked up to "confirmed by the customer" (closable), or closed unsigned."""
    agent = world["agent"]
    case = services.open_case(actor=agent, institution=world["institution_east"], kind="quality", title=title,
                              description="药房反映一盒药片变色", product=world["product"], batch_number="A123")
    services.respond(actor=agent, case=case)
    case = services.move(actor=agent, case=Case.objects.get(pk=case.pk), to=CaseStatus.RESOLVED,
                         solution="召回该批次并补发")
    case = services.move(actor=agent, case=case, to=CaseStatus.CONFIRMED)
    if closed:
        case = services.move(actor=agent, case=case, to=CaseStatus.CLOSED, root_cause="product_quality",
                             corrective_action="加强出厂检验")
    return Case.objects.get(pk=case.pk)


def sign_url(case: Case) -> str:
    return f"/api/v1/cases/{case.pk}/sign/"


CLOSE = {"meaning": "review", "root_cause": "product_quality", "corrective_action": "加强出厂检验"}
