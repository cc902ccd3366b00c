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
