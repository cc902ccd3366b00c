"""A seeded demo company shared by the API-wide checks (#12, #20, #21), built once per worker.

The demo seeds (``make demo``) exercise every app's own services, so every API list has rows, reps in several
territories own them, and a new model gets rows as soon as its seed does. The data lives in one transaction,
opened by the first test that asks for it (the ``seeded_company`` fixture) and rolled back after the last: the
tests that use it run one after another in one worker (the ``@company`` group of the root conftest), so the rest
of the suite never sees it; each test still runs in its own savepoint (pytest-django's ``db`` fixture nests inside).
"""
from __future__ import annotations

import contextlib
import io
from typing import Any

from django.core.management import call_command
from django.db import transaction


class SharedCompany:
    """The demo company, seeded at the first use and kept until ``release``."""

    def __init__(self, scale: int = 60) -> None:
        self.scale = scale
        self.users: dict[str, Any] | None = None
        self._open: contextlib.ExitStack | None = None

    def get(self, django_db_blocker: Any) -> dict[str, Any]:
        """The demo users by username."""
        if self.users is None:
            from pharmacrm.core.management.commands.prepare import demo_seeders
            from pharmacrm.org.models import User

            self._open = contextlib.ExitStack()
            self._open.enter_context(django_db_blocker.unblock())
            self._open.enter_context(transaction.atomic())
            out = io.StringIO()
            for name in demo_seeders():
                call_command(name, stdout=out, **({"scale": self.scale} if name == "seed_demo" else {}))
            users = {user.username: user for user in User.objects.all()}
            add_scoped_records(users)
            self.users = users
        return self.users

    def release(self) -> None:
        """Roll the company back."""
        if self._open is not None:
            transaction.set_rollback(True)
            self._open.close()
        self._open, self.users = None, None


shared_company = SharedCompany()


def add_scoped_records(users: dict[str, Any]) -> None:
    """Records the seeds do not make but the matrix needs one of in rep_east's scope: a personal saved filter,
    a master-data change request and a review approval on rep_east's customer, a greeting to his doctor,
    an account request, a class change and a sample count."""
    import datetime

    from pharmacrm.core.policy import today
    from pharmacrm.core.saved_filters import create_saved_filter
    from pharmacrm.customers import services as customers
    from pharmacrm.customers.models import Institution
    from pharmacrm.customers.stewardship import request_change, request_review
    from pharmacrm.engagement.care import send_greetings
    from pharmacrm.engagement.models import GreetingTemplate
    from pharmacrm.grading.models import Classification, GradeChange, RuleVersion
    from pharmacrm.org.account_requests import request_account
    from pharmacrm.org.roles import Role
    from pharmacrm.samples import services as samples
    from pharmacrm.samples.services import ledger_stock

    rep = users["rep_east"]
    institution = Institution.objects.filter(owner=rep).order_by("pk").first()
    create_saved_filter(actor=rep, list_name="customers:institution_list", name="三甲", querystring="grade=3A")
    request_change(actor=rep, institution=institution, changes={"phone": "021-64041990"}, reason="电话已变更")
    request_review(actor=rep, institution=institution)
    doctor = customers.create_contact(actor=users["steward"], institution=institution, name="关怀医生")
    customers.record_consent(actor=users["steward"], contact=doctor, channel="wechat", purpose="care",
                             granted_on=today() - datetime.timedelta(days=30), evidence="签字同意书")
    template = GreetingTemplate.objects.filter(approved_at__isnull=False).order_by("pk").first()
    if template is not None:
        send_greetings(actor=rep, template=template, contacts=[doctor], channel="wechat")
    request_account(actor=users["manager_east"], username="new_rep", full_name="新代表", email="new@example.com",
                    role=Role.REP, team=rep.team, territories=list(rep.territories.all()),
                    justification="新入职")
    classification = Classification.objects.filter(institution=institution).first()
    rule = RuleVersion.objects.order_by("pk").first()
    if classification is not None and rule is not None:
        GradeChange.objects.create(institution=institution, run_id=classification.run_id, changed_on=today(),
                                   dimension=rule.dimension, old="general", new="premium", reason="rule",
                                   new_rule=rule)
    stock = ledger_stock(rep)
    if stock:
        samples.submit_reconciliation(actor=rep, counts=[{"lot": lot, "counted": quantity}
                                                         for lot, quantity in _lots(stock)])
    add_privacy_and_signature_records(users, institution, doctor)


def add_privacy_and_signature_records(users: dict[str, Any], institution: Any, doctor: Any) -> None:
    """A subject request about rep_east's doctor, a GxP person kept sealed for QA after a deletion request, and a
    QA signature on one of rep_east's complaint cases."""
    from pharmacrm.core import signatures
    from pharmacrm.core.policy import today
    from pharmacrm.customers import services as customers
    from pharmacrm.privacy import services as privacy
    from pharmacrm.service import services as service

    dpo, qa = users["dpo"], users["qa"]
    privacy.open_request(actor=dpo, kind="access", contact=doctor, received_on=today())
    complainant = customers.create_contact(actor=users["steward"], institution=institution, name="投诉药师")
    case = service.open_case(actor=users["rep_east"], institution=institution, contact=complainant, kind="complaint",
                             title="包装破损", description="两盒铝塑板破损")
    privacy.anonymise_contact(actor=dpo, contact=complainant, reason="本人申请删除")
    signatures.sign(actor=qa, obj=case, meaning="review", password="pharmacrm-demo", username=qa.username)


def _lots(stock: dict[Any, int]) -> list[tuple[Any, int]]:
    from pharmacrm.samples.models import SampleLot

    lots = SampleLot.objects.in_bulk(list(stock))
    return [(lots[pk], quantity) for pk, quantity in stock.items()]


def add_person_rows(org: dict[str, Any], persons: int) -> dict[str, Any]:
    """``persons`` consenting doctors at rep_east's hospital, each given a sample and sent a pushed paper: the
    lists that name them (kind → page) for the export gate's tests, and the marketing user who pushed."""
    import datetime

    from pharmacrm.content import services as content
    from pharmacrm.content.tests.conftest import classify
    from pharmacrm.core.policy import today
    from pharmacrm.customers import services as customers
    from pharmacrm.samples.tests.factories import give, make_world

    world = make_world(org)
    since = today() - datetime.timedelta(days=30)
    classify(org["institution_east"], depth="core", grade="premium")
    for number in range(persons):
        doctor = customers.create_contact(actor=org["steward"], institution=org["institution_east"],
                                          name=f"受赠医生{number}")
        for channel in ("visit", "wechat"):
            customers.record_consent(actor=org["steward"], contact=doctor, channel=channel, purpose="academic",
                                     granted_on=since, evidence="签字同意书")
        give(world, contact=doctor)
    item = content.save_item(actor=world["marketing"], kind="literature", title="SGLT2抑制剂心衰获益",
                             source="NEJM 2024;390:1-10", interpretation="射血分数保留的心衰患者同样获益。")
    item = content.approve_item(actor=org["compliance"], item=item)
    push = content.send_push(actor=world["marketing"], item=item, dimension="depth", klass="core", channel="wechat")
    return {"disbursements": "/samples/disbursements/", "deliveries": "/content/deliveries/",
            "push": f"/content/pushes/{push.pk}/", "marketing": world["marketing"]}
