"""Demo grading: annual category purchases on file for some buying customers (so cooperation depth has shares
to work with), then one grading run with the seed rules."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand
from django.db.models import Sum

from pharmacrm.core.audit import audited_update
from pharmacrm.customers.models import Institution
from pharmacrm.grading import services
from pharmacrm.grading.choices import RunKind
from pharmacrm.grading.models import Classification
from pharmacrm.org.models import User
from pharmacrm.sales.models import PurchaseMonth

#: how many buying customers get a category total, and our share's range
WITH_TOTALS = 300
SHARES = (0.08, 0.6)


class Command(BaseCommand):
    help = "Give some demo customers their annual category purchases and grade every customer once."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--if-empty", action="store_true", help="do nothing when grades exist")

    def handle(self, *args: Any, if_empty: bool = False, **options: Any) -> None:
        if if_empty and Classification.objects.exists():
            return
        rng = random.Random(5)
        steward = User.objects.get(username="steward")
        bought = (PurchaseMonth.objects.order_by().values("institution_id").annotate(amount=Sum("amount_fen"))
                  .order_by("institution_id")[:WITH_TOTALS])
        for row in bought:
            institution = Institution.objects.get(pk=row["institution_id"])
            if institution.annual_category_purchases is None and row["amount"] > 0:
                total = Decimal(row["amount"]) / 100 / Decimal(str(rng.uniform(*SHARES)))
                audited_update(institution, actor=steward,
                               changes={"annual_category_purchases": total.quantize(Decimal("0.01"))})
        run = services.execute(services.start_run(actor=None, kind=RunKind.NIGHTLY))
        self.stdout.write(f"seed_grading: {run.customers} customers graded, rules "
                          f"{', '.join(f'{key} v{number}' for key, number in run.rules.items())}")
