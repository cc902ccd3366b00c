"""Demo service desk: on rep_east's customers, a complaint raised at a visit being investigated, a clinical
inquiry waiting for medical affairs, a quality case flagged for pharmacovigilance, a quality case the desk closed
under its signature and QA reviewed (signed), a case logged twice and voided, a return, a consultation closed and a
complaint whose first response is overdue — then the clock check, as the job would run it."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from pharmacrm.customers.management.commands.seed_demo import DEMO_PASSWORD
from pharmacrm.customers.models import Contact, Institution
from pharmacrm.engagement.models import Visit
from pharmacrm.org.models import User
from pharmacrm.sales.models import Order, Product
from pharmacrm.service import clocks, services
from pharmacrm.service.models import Case


class Command(BaseCommand):
    help = "Create demo service cases (audited, through the services)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--if-empty", action="store_true", help="do nothing when cases exist")

    def handle(self, *args: Any, if_empty: bool = False, **options: Any) -> None:
        if if_empty and Case.objects.exists():
            self.stdout.write("seed_service: cases already exist; nothing to do (--if-empty)")
            return
        people = {user.username: user for user in User.objects.filter(
            username__in=["rep_east", "service_desk", "medical", "pv_officer", "qa"])}
        rep = people.get("rep_east")
        customers = list(Institution.objects.visible_to(rep).live().order_by("id")[:5]) if rep else []
        if len(people) < 5 or len(customers) < 5:
            self.stdout.write("seed_service: run seed_demo first; nothing to do")
            return
        agent = people["service_desk"]
        product = Product.objects.order_by("id").first()
        now = timezone.now()

        def contact(institution: Institution) -> Contact | None:
            return Contact.objects.working_at(institution).order_by("id").first()

        with transaction.atomic():
            first, second, third, fourth, fifth = customers
            visit = Visit.objects.filter(rep=rep, institution=first).order_by("id").first()
            complaint = services.open_case(
                actor=rep, institution=first, kind="complaint", channel="visit", severity="high", visit=visit,
                title="上批到货延迟一周", description="药房主任反映上批货晚到一周，影响门诊用药。", contact=contact(first),
                received_at=now - datetime.timedelta(hours=5))
            services.add_note(actor=agent, case=complaint, body="已致电药房主任致歉，正在核实物流记录。", internal=False)
            services.move(actor=agent, case=complaint, to="investigating")
            services.open_case(actor=rep, institution=second, kind="clinical", channel="visit",
                               title="与华法林合用的相互作用", description="心内科主任询问与华法林合用时是否需要调整剂量。",
                               contact=contact(second), received_at=now - datetime.timedelta(hours=3))
            if product is not None:
                quality = services.open_case(
                    actor=agent, institution=third, kind="quality", channel="hotline", severity="medium",
                    product=product, batch_number="B2026-0415", title="铝塑板破损",
                    description="药房开箱发现两盒铝塑板破损，已拍照留存。", contact=contact(third),
                    pv_kind="pqc", pv_seriousness="other")
                services.respond(actor=agent, case=quality)
                self._signed_and_voided(agent, people["qa"], third, product, contact(third), now)
            order = Order.objects.filter(institution=fourth).order_by("-id").first()
            if order is not None:
                services.open_case(actor=agent, institution=fourth, kind="return", return_kind="exchange", order=order,
                                   title="近效期换货", description="到货批次效期不足六个月，申请换货。")
            consultation = services.open_case(actor=rep, institution=fifth, kind="consultation",
                                              title="新规格上市时间", description="询问 20mg 规格何时供货。",
                                              owner=rep, received_at=now - datetime.timedelta(days=3))
            services.respond(actor=rep, case=consultation)
            services.move(actor=rep, case=consultation, to="resolved", solution="告知预计下月到货，到货后通知。")
            services.move(actor=rep, case=consultation, to="confirmed")
            services.move(actor=rep, case=consultation, to="closed")
            services.open_case(actor=agent, institution=fifth, kind="complaint", severity="medium",
                               title="发票抬头错误", description="上月发票抬头与开票信息不符。",
                               received_at=now - datetime.timedelta(days=2))
        clocks.check()
        self.stdout.write(self.style.SUCCESS(f"seed_service: {Case.objects.count()} cases"))

    @staticmethod
    def _signed_and_voided(agent: User, qa: User, institution: Institution, product: Product,
                           contact: Contact | None, now: datetime.datetime) -> None:
        """签名关闭 as the desk and QA do it (each re-authenticates with the demo password), and a duplicate voided."""
        signed = services.open_case(
            actor=agent, institution=institution, kind="quality", channel="hotline", severity="low", product=product,
            batch_number="B2026-0302", title="说明书缺页", description="药房反映一盒包装内说明书缺第 3–4 页。",
            contact=contact, received_at=now - datetime.timedelta(days=6))
        services.respond(actor=agent, case=signed)
        signed = services.move(actor=agent, case=signed, to="resolved", solution="补寄说明书；排查同批次包装线。")
        signed = services.move(actor=agent, case=signed, to="confirmed")
        services.sign_case(actor=agent, case=signed, meaning="responsibility", password=DEMO_PASSWORD,
                           username=agent.username, root_cause="packaging",
                           corrective_action="包装线加装说明书称重检测。")
        services.sign_case(actor=qa, case=Case.objects.get(pk=signed.pk), meaning="review", password=DEMO_PASSWORD,
                           username=qa.username)
        duplicate = services.open_case(
            actor=agent, institution=institution, kind="quality", channel="hotline", severity="low", product=product,
            batch_number="B2026-0302", title="说明书缺页（重复登记）", description="同一来电登记了两次。",
            contact=contact, received_at=now - datetime.timedelta(days=6))
        services.void_case(actor=qa, case=duplicate, reason="与说明书缺页工单重复登记")
