"""Policy parameters of sample provision (seed 000 四.1 "in line with company rules"; DESIGN.md configurable policy).

The per-recipient limit is per product over a rolling window: a recipient may receive at most
``samples.max_units_per_recipient`` units (packs) of one product within any ``samples.limit_period_days``-day
window, counting every rep's disbursements (two reps covering the same doctor share one allowance). A rolling
window, not a calendar month, so the limit cannot be doubled across a month end; the check counts one period
either side of the disbursement's time, so a record entered late cannot slip under it either.
"""

from __future__ import annotations

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy

from pharmacrm.core.policy import declare

MAX_UNITS_PER_RECIPIENT = declare(
    "samples.max_units_per_recipient",
    default=10,
    label=gettext_lazy("Sample limit per recipient and product"),
    help_text=gettext_lazy("Most units (packs) of one product one recipient may receive within the limit period; "
                           "0 stops samples."),
    field_factory=lambda: forms.IntegerField(validators=[MinValueValidator(0), MaxValueValidator(100_000)]),
)

LIMIT_PERIOD_DAYS = declare(
    "samples.limit_period_days",
    default=90,
    label=gettext_lazy("Sample limit period (days)"),
    help_text=gettext_lazy("The rolling window the per-recipient limit counts over, 1–3660 days."),
    field_factory=lambda: forms.IntegerField(validators=[MinValueValidator(1), MaxValueValidator(3660)]),
)

EXPIRY_WARNING_DAYS = declare(
    "samples.expiry_warning_days",
    default=90,
    label=gettext_lazy("Warn of sample expiry (days ahead)"),
    help_text=gettext_lazy("Inventory pages flag lots expiring within this many days, 0–730."),
    field_factory=lambda: forms.IntegerField(validators=[MinValueValidator(0), MaxValueValidator(730)]),
)

RECONCILIATION_INTERVAL_DAYS = declare(
    "samples.reconciliation_interval_days",
    default=90,
    label=gettext_lazy("Sample count every (days)"),
    help_text=gettext_lazy("How often each rep counts their samples for reconciliation (90: quarterly), 7–366 days."),
    field_factory=lambda: forms.IntegerField(validators=[MinValueValidator(7), MaxValueValidator(366)]),
)
