"""Demo content: three approved items (a paper with its reading, a policy analysis, an industry trend), seed 002's
schedules (core customers: a paper weekly, a policy analysis monthly; potential customers: a trend every 60 days),
academic consent on WeChat for a few of rep_east's contacts, and one push of the paper to core customers."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from pharmacrm.content import services
from pharmacrm.content.models import ContentItem
from pharmacrm.customers import services as customers
from pharmacrm.customers.models import Consent, Contact
from pharmacrm.org.models import User

ITEMS = (
    ("literature", "SGLT2抑制剂在射血分数保留心衰中的获益", "N Engl J Med. 2022;387:1089-1098 (DELIVER)",
     "https://www.nejm.org/doi/full/10.1056/NEJMoa2206286",
     "达格列净使射血分数轻度降低或保留的心衰患者心衰恶化或心血管死亡风险降低18%，获益与糖尿病状态无关。",
     "研究纳入6263例LVEF>40%的心衰患者，中位随访2.3年……（解读全文）"),
    ("policy", "DRG/DIP 2.0 分组方案对科室用药的影响", "国家医保局《按病组和病种分值付费2.0版分组方案》(2024)", "",
     "按病组付费后，住院用药更看重疗效与成本的平衡；建议科室梳理高权重病组的用药路径。", ""),
    ("trend", "县域医共体建设带来的基层用药机会", "国家卫健委《关于全面推进紧密型县域医疗卫生共同体建设的指导意见》",
     "", "县域医共体统一药品目录与采购，基层慢病用药需求将向县级医院目录靠拢。", ""),
)
SCHEDULES = (("depth", "core", "literature", 7, "wechat", "每周推送1篇前沿学术文献（附简洁解读）"),
             ("depth", "core", "policy", 30, "wechat", "每月分享1次政策影响分析"),
             ("depth", "potential", "trend", 60, "wechat", "每两个月推送1次行业趋势"))


class Command(BaseCommand):
    help = "Create demo content items, seed 002's push schedules and one push (audited, through the services)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--if-empty", action="store_true", help="do nothing when content items exist")

    def handle(self, *args: Any, if_empty: bool = False, **options: Any) -> None:
        if if_empty and ContentItem.objects.exists():
            self.stdout.write("seed_content: content items already exist; nothing to do (--if-empty)")
            return
        marketing = User.objects.filter(username="marketing").first()
        compliance = User.objects.filter(username="compliance").first()
        steward = User.objects.filter(username="steward").first()
        rep = User.objects.filter(username="rep_east").first()
        if None in (marketing, compliance, steward, rep):
            self.stdout.write("seed_content: run seed_demo first; nothing to do")
            return
        with transaction.atomic():
            items = []
            for kind, title, source, url, interpretation, body in ITEMS:
                item = services.save_item(actor=marketing, kind=kind, title=title, source=source, source_url=url,
                                          interpretation=interpretation, body=body)
                items.append(services.approve_item(actor=compliance, item=item))
            for dimension, klass, kind, days, channel, note in SCHEDULES:
                services.save_schedule(actor=marketing, dimension=dimension, klass=klass, kind=kind, every_days=days,
                                       channel=channel, note=note)
            # a few of rep_east's contacts agreed to academic information on WeChat (PIPL: evidence on file)
            for contact in Contact.objects.visible_to(rep).order_by("id")[:12]:
                if not Consent.objects.filter(contact=contact, purpose="academic", channel="wechat").exists():
                    customers.record_consent(actor=steward, contact=contact, channel="wechat", purpose="academic",
                                             granted_on=datetime.date(2024, 1, 1), evidence="学术信息推送知情同意书")
            push = services.send_push(actor=marketing, item=items[0], dimension="depth", klass="core",
                                      channel="wechat")
        self.stdout.write(self.style.SUCCESS(
            f"seed_content: {len(items)} items, {len(SCHEDULES)} schedules, 1 push to {push.delivered} contacts"))
