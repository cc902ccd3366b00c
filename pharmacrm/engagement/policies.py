"""Policy parameters of engagement (DESIGN.md configurable policy)."""

from __future__ import annotations

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy

from pharmacrm.core.policy import declare

FLAG_WORDS = declare(
    "engagement.flag_words",
    default="统方,回扣,带金,返点,提成,好处费,红包",
    label=gettext_lazy("Words that flag a note for compliance"),
    help_text=gettext_lazy("Comma-separated. A call report or contact note containing any of them is flagged for "
                           "compliance review (prescription data and kickbacks have no place in notes)."),
    field_factory=lambda: forms.CharField(max_length=500),
)

FOLLOW_UP_DAYS = declare(
    "engagement.follow_up_days",
    default=7,
    label=gettext_lazy("Follow-ups due after (days)"),
    help_text=gettext_lazy("The due date a problem raised in a call report gets unless the rep sets one, 1–90 days."),
    field_factory=lambda: forms.IntegerField(validators=[MinValueValidator(1), MaxValueValidator(90)]),
)

SPECIAL_VISIT_LEAD_DAYS = declare(
    "engagement.special_visit_lead_days",
    default=3,
    label=gettext_lazy("Special visits planned within (days)"),
    help_text=gettext_lazy("A visit raised by an event (grade drop, falling purchases, expiring licence, new "
                           "customer) is planned this many days ahead, 0–30."),
    field_factory=lambda: forms.IntegerField(validators=[MinValueValidator(0), MaxValueValidator(30)]),
)

PURCHASE_DROP_PERCENT = declare(
    "engagement.purchase_drop_percent",
    default=30,
    label=gettext_lazy("Falling purchases: drop of (%)"),
    help_text=gettext_lazy("A customer whose last 12 months' purchases fell by this share or more against the 12 "
                           "before gets a special visit, 5–100."),
    field_factory=lambda: forms.IntegerField(validators=[MinValueValidator(5), MaxValueValidator(100)]),
)

LICENCE_VISIT_DAYS = declare(
    "engagement.licence_visit_days",
    default=30,
    label=gettext_lazy("Expiring licence: visit when it ends within (days)"),
    help_text=gettext_lazy("A customer whose licence ends within this many days gets a special visit to renew it, "
                           "7–180."),
    field_factory=lambda: forms.IntegerField(validators=[MinValueValidator(7), MaxValueValidator(180)]),
)

CARE_REMINDER_DAYS = declare(
    "engagement.care_reminder_days",
    default=3,
    label=gettext_lazy("Care reminders ahead (days)"),
    help_text=gettext_lazy("Reps are reminded of their contacts' birthdays, festivals and cooperation anniversaries "
                           "this many days ahead, 0–30."),
    field_factory=lambda: forms.IntegerField(validators=[MinValueValidator(0), MaxValueValidator(30)]),
)
