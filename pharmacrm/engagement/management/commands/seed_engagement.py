"""Demo engagement: rep_east's visits — one planned for tomorrow with a checklist, one checked in today with a
draft report, one submitted (with a follow-up) waiting for the manager, one reviewed — a few logged contacts, two
approved greeting templates, and rep_east's plan for next month drafted from the cadence rules and submitted."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from pharmacrm.core import policy
from pharmacrm.customers.models import Contact, Institution
from pharmacrm.engagement import cadence, care, plans, services
from pharmacrm.engagement.models import Visit
from pharmacrm.org.models import User


class Command(BaseCommand):
    help = "Create demo visits, call reports, contact logs and follow-ups (audited, through the services)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--if-empty", action="store_true", help="do nothing when visits exist")

    def handle(self, *args: Any, if_empty: bool = False, **options: Any) -> None:
        if if_empty and Visit.objects.exists():
            self.stdout.write("seed_engagement: visits already exist; nothing to do (--if-empty)")
            return
        rep = User.objects.filter(username="rep_east").first()
        manager = User.objects.filter(username="manager_east").first()
        customers = list(Institution.objects.visible_to(rep).live().order_by("id")[:4]) if rep else []
        if rep is None or manager is None or len(customers) < 4:
            self.stdout.write("seed_engagement: run seed_demo first; nothing to do")
            return
        now = timezone.now()

        def people(institution: Institution) -> list[Contact]:
            return list(Contact.objects.visible_to(rep).working_at(institution).order_by("id")[:2])

        with transaction.atomic():
            first, second, third, fourth = customers
            services.plan_visit(actor=rep, institution=first, planned_for=now + datetime.timedelta(days=1, hours=2),
                                goal="介绍新适应症的三期临床数据", contacts=people(first),
                                content="产品手册\n三期临床文献\n医保政策解读")
            today = services.plan_visit(actor=rep, institution=second, planned_for=now - datetime.timedelta(hours=1),
                                        goal="了解科室用药需求", contacts=people(second), content="样品登记表")
            today = services.check_in(actor=rep, visit=today, latitude="31.230400", longitude="121.473700",
                                      accuracy=30)
            services.save_report(actor=rep, visit=today, channel="face_to_face", contacts=people(second),
                                 key_messages="新剂型依从性更好", feedback="主任关注带量采购后的供应")
            done = services.plan_visit(actor=rep, institution=third, planned_for=now - datetime.timedelta(days=2),
                                       goal="季度回访", contacts=people(third))
            done = services.save_report(actor=rep, visit=done, channel="phone", contacts=people(third),
                                        key_messages="确认下季度用量", agreements="下月安排科室会")
            services.submit_report(actor=rep, visit=done, problems=[services.Problem("药房反映上批到货延迟")])
            reviewed = services.plan_visit(actor=rep, institution=fourth, planned_for=now - datetime.timedelta(days=6),
                                           goal="新客户首次拜访", kind="new")
            reviewed = services.save_report(actor=rep, visit=reviewed, channel="face_to_face",
                                            key_messages="公司与产品介绍", feedback="希望提供用药指导资料")
            services.submit_report(actor=rep, visit=reviewed)
            services.review_visit(actor=manager, visit=Visit.objects.get(pk=reviewed.pk),
                                  comment="下次带上患者教育资料")
            for institution, channel, summary in ((first, "phone", "确认拜访时间"),
                                                  (third, "wechat", "发送了说明书电子版")):
                services.log_communication(actor=rep, institution=institution, channel=channel, summary=summary)
            marketing = User.objects.filter(username="marketing").first()
            compliance = User.objects.filter(username="compliance").first()
            if marketing is not None and compliance is not None:
                for title, occasion, text in (("生日问候", "birthday", "{name}您好，祝您生日快乐，身体健康！"),
                                              ("节日问候", "festival", "{name}您好，佳节愉快，阖家安康！")):
                    template = care.save_template(actor=marketing, title=title, text=text, occasion=occasion)
                    care.approve_template(actor=compliance, template=template)
            next_month = (policy.today().replace(day=1) + datetime.timedelta(days=32)).replace(day=1)
            plan = plans.draft_plan(actor=rep, period="month", day=next_month, note="下月重点：新适应症推广")
            below = plan.lines.filter(rule_visits__gt=0).order_by("id").first()
            if below is not None:  # one customer planned below the rules, with the reason the manager reads
                plans.save_lines(actor=rep, plan=plan, lines={below.pk: (max(0, below.visits - 1), "科室装修，少去一次")})
            if plan.lines.filter(visits__gt=0).exists():
                plans.submit_plan(actor=rep, plan=plan)
        cadence.compute_all()  # as the nightly job would, for head office's overview
        self.stdout.write(self.style.SUCCESS("seed_engagement: 4 visits, 2 contacts logged, 2 greeting templates, "
                                             "a visit plan"))
