"""How long a case is kept (21 CFR 211.198(b), EU GMP Ch. 8), and the review of those past it.

A complaint record is kept "at least 1 year after the expiration date of the drug product, or 1 year after the
date that the complaint was received, whichever is longer". ``retention_until`` is

    max(batch expiry + N years, received (China date) + N years)        N = policy service.complaint_retention_years

with the batch's expiry from the catalogue where it is known (the case names product and batch: a delivered batch's
shipment lines, a sample lot), else from receipt alone. The same date is kept for every case kind.

Cases are never deleted, by anyone: the retention job (``review``) only lists the cases past their date for quality
assurance to decide, and tells QA once per case. Personal data in them is the privacy app's business.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone

from pharmacrm.core import policy


def add_years(day: datetime.date, years: int) -> datetime.date:
    """``day`` moved ``years`` on; 29 February becomes 1 March (never earlier than a full year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a common year
        return datetime.date(day.year + years, 3, 1)


def retention_date(*, received_on: datetime.date, expiry: datetime.date | None, years: int) -> datetime.date:
    """The formula, on plain dates (hypothesis tests it over dates)."""
    candidates = [add_years(received_on, years)]
    if expiry is not None:
        candidates.append(add_years(expiry, years))
    return max(candidates)


def batch_expiry(product_id: int | None, batch_number: str) -> datetime.date | None:
    """The latest expiry recorded for the product's batch: shipped lines (GSP record) and sample lots."""
    if not product_id or not batch_number:
        return None
    from pharmacrm.sales.models import ShipmentLine
    from pharmacrm.samples.models import SampleLot

    dates = [
        ShipmentLine._base_manager.filter(order_line__product_id=product_id, batch_number=batch_number)
        .order_by("-expiry_date").values_list("expiry_date", flat=True).first(),
        SampleLot._base_manager.filter(product_id=product_id, batch_number=batch_number)
        .order_by("-expiry_date").values_list("expiry_date", flat=True).first(),
    ]
    known = [day for day in dates if day is not None]
    return max(known) if known else None


def retention_until(case: Any) -> datetime.date:
    received_on = timezone.localtime(case.received_at, policy.CHINA).date()
    years = int(policy.get("service.complaint_retention_years", on=received_on))
    return retention_date(received_on=received_on, expiry=batch_expiry(case.product_id, case.batch_number),
                          years=years)


def past_retention(today: datetime.date | None = None) -> Any:
    """Cases whose retention date has passed (for QA's decision; nothing deletes them)."""
    from pharmacrm.service.models import Case

    return Case._base_manager.filter(retention_until__lt=today or policy.today())


def review(today: datetime.date | None = None) -> dict[str, int]:
    """The retention job: deletes nothing; tells each QA user once about each case newly past retention.

    Idempotent: a case is announced once (the notification's url is its key), so a re-run adds nothing.
    """
    from django.utils.translation import gettext as _

    from pharmacrm.core.models import Notification
    from pharmacrm.core.notifications import notify
    from pharmacrm.org.models import User
    from pharmacrm.org.roles import Role

    cases = list(past_retention(today).order_by("id")[:500])
    told = 0
    for user in User.objects.filter(role=Role.QA, is_active=True):
        announced = set(Notification._base_manager.filter(recipient=user, url__in=[case.get_absolute_url()
                                                                                   for case in cases])
                        .values_list("url", flat=True))
        for case in cases:
            if case.get_absolute_url() in announced:
                continue
            notify(user, _("Past its retention date, for your decision: %(case)s") % {"case": case.reference},
                   url=case.get_absolute_url())
            told += 1
    return {"past_retention": len(cases), "notified": told, "deleted": 0}
