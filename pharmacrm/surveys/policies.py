"""Policy parameters of satisfaction surveys (seed 000 四.3, seed 003 四.4)."""

from __future__ import annotations

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy

from pharmacrm.core.policy import declare


def _between(low: int, high: int) -> forms.IntegerField:
    return forms.IntegerField(validators=[MinValueValidator(low), MaxValueValidator(high)])


LINK_DAYS = declare(
    "surveys.link_days", default=30,
    label=gettext_lazy("A survey link works for (days)"),
    help_text=gettext_lazy("From the day it is made; a campaign's links also end when the campaign closes."),
    field_factory=lambda: _between(1, 365))

LOW_CSAT = declare(
    "surveys.low_csat", default=2,
    label=gettext_lazy("A satisfaction score at or below this opens a follow-up case"),
    help_text=gettext_lazy("On the 1–5 scale."),
    field_factory=lambda: _between(1, 5))

LOW_NPS = declare(
    "surveys.low_nps", default=6,
    label=gettext_lazy("A recommendation score at or below this opens a follow-up case"),
    help_text=gettext_lazy("On the 0–10 scale; 0–6 are detractors in the net promoter score."),
    field_factory=lambda: _between(0, 10))

COMPANY_NAME = declare(
    "surveys.company_name", default="",
    label=gettext_lazy("Company name on the public survey page"),
    help_text=gettext_lazy("The only thing the page says about who asks; empty shows the product's name."),
    field_factory=lambda: forms.CharField(max_length=100, required=False))

PUBLIC_REQUESTS = declare(
    "surveys.public_requests_per_10_minutes", default=60,
    label=gettext_lazy("Survey page requests one address may make in 10 minutes"),
    help_text=gettext_lazy("A hospital's staff may share one address: keep it generous."),
    field_factory=lambda: _between(5, 10000))

PUBLIC_BAD_LINKS = declare(
    "surveys.public_bad_links_per_10_minutes", default=10,
    label=gettext_lazy("Unknown survey links one address may try in 10 minutes"),
    field_factory=lambda: _between(1, 1000))

