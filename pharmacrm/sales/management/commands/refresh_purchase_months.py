"""Rebuild every monthly purchase total from the purchase facts (they are kept current on each write;
this is the repair, and what `make bench` times)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from pharmacrm.sales import purchases


class Command(BaseCommand):
    help = "Rebuild the monthly purchase totals (terminal × product × month) from the purchase facts."

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        rows = purchases.refresh_months()
        self.stdout.write(self.style.SUCCESS(f"refresh_purchase_months: {rows} monthly totals in "
                                             f"{time.monotonic() - started:.1f} s"))
