"""Demo surveys: the annual question set (satisfaction, recommendation, a comment), survey consent on WeChat for a
few of rep_east's contacts, this year's campaign to all customers launched, and a few answers — one low, which
opens a follow-up complaint."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from pharmacrm.core import policy
from pharmacrm.customers import services as customers
from pharmacrm.customers.models import Consent, Contact
from pharmacrm.org.models import User
from pharmacrm.surveys import services
from pharmacrm.surveys.models import SurveyCampaign

QUESTIONS = [{"kind": "csat", "text": "总体而言，您对我们的产品和服务是否满意？"},
             {"kind": "nps", "text": "您有多大可能向同行推荐我们？"},
             {"kind": "text", "text": "您希望我们在哪些方面改进？"}]
ANSWERS = ({"csat": 5, "nps": 10, "text1": "代表专业，响应及时"}, {"csat": 4, "nps": 8, "text1": ""},
           {"csat": 2, "nps": 4, "text1": "到货经常延迟，希望改进配送"}, {"csat": 4, "nps": 9, "text1": "学术资料很有帮助"})


class Command(BaseCommand):
    help = "Create a demo question set and survey campaign with a few answers (audited, through the services)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--if-empty", action="store_true", help="do nothing when survey campaigns exist")

    def handle(self, *args: Any, if_empty: bool = False, **options: Any) -> None:
        if if_empty and SurveyCampaign.objects.exists():
            self.stdout.write("seed_surveys: survey campaigns already exist; nothing to do (--if-empty)")
            return
        marketing = User.objects.filter(username="marketing").first()
        steward = User.objects.filter(username="steward").first()
        rep = User.objects.filter(username="rep_east").first()
        if None in (marketing, steward, rep):
            self.stdout.write("seed_surveys: run seed_demo first; nothing to do")
            return
        today = policy.today()
        with transaction.atomic():
            question_set = services.save_question_set(actor=marketing, name="年度客户满意度调查", questions=QUESTIONS)
            # a few of rep_east's contacts agreed to satisfaction surveys on WeChat (PIPL: evidence on file)
            for contact in Contact.objects.visible_to(rep).order_by("id")[:8]:
                if not Consent.objects.filter(contact=contact, purpose="survey", channel="wechat").exists():
                    customers.record_consent(actor=steward, contact=contact, channel="wechat", purpose="survey",
                                             granted_on=datetime.date(2024, 1, 1), evidence="满意度调查知情同意书")
            campaign = services.save_campaign(actor=marketing, name=f"{today.year} 年度客户满意度调查",
                                              question_set=question_set, audience="all", channel="wechat",
                                              opens_on=today, closes_on=today + datetime.timedelta(days=60))
            launch = services.launch_campaign(actor=marketing, campaign=campaign)
            for (invitation, _token), raw in zip(launch.links, ANSWERS, strict=False):
                services.answer(invitation=invitation, raw=raw)
        self.stdout.write(self.style.SUCCESS(
            f"seed_surveys: 1 question set, 1 campaign to {launch.campaign.invited} contacts, "
            f"{min(len(ANSWERS), len(launch.links))} answers"))
