"""Policy parameters of the service desk (seed 002 六.(二) 24 小时响应, seed 003 四.3 N 个工作日内联系客户; DOMAIN.md
2.6 China ADR reporting days)."""

from __future__ import annotations

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy

from pharmacrm.core.policy import declare


def _days(low: int, high: int) -> forms.IntegerField:
    return forms.IntegerField(validators=[MinValueValidator(low), MaxValueValidator(high)])


FIRST_RESPONSE_HOURS = declare(
    "service.first_response_hours", default=24,
    label=gettext_lazy("First response to clinical inquiries and complaints (hours)"),
    help_text=gettext_lazy("24 hours by default, counted in clock hours, nights and holidays included."),
    field_factory=lambda: _days(1, 168))

CONTACT_WORKING_DAYS = declare(
    "service.contact_working_days", default=1,
    label=gettext_lazy("Contact the customer within (working days)"),
    help_text=gettext_lazy("Complaints, quality feedback and returns: contact the customer within N "
                           "working days of China's calendar."),
    field_factory=lambda: _days(1, 30))

RESOLUTION_WORKING_DAYS = {
    severity: declare(f"service.resolution_days_{severity}", default=default, label=label,
                      help_text=gettext_lazy("Counted in working days of China's calendar from receipt."),
                      field_factory=lambda: _days(1, 120))
    for severity, default, label in (
        ("critical", 1, gettext_lazy("Resolve a critical case within (working days)")),
        ("high", 3, gettext_lazy("Resolve a high-severity case within (working days)")),
        ("medium", 5, gettext_lazy("Resolve a medium-severity case within (working days)")),
        ("low", 10, gettext_lazy("Resolve a low-severity case within (working days)")))
}

#: 《药品不良反应报告和监测管理办法》: deaths at once, new or serious within 15 days, others within 30 (DOMAIN.md 2.6
#: asks to check the days against the text: they are parameters)
PV_DAYS = {
    seriousness: declare(f"service.pv_days_{seriousness}", default=default, label=label,
                         help_text=gettext_lazy("Calendar days from the date the company became aware."),
                         field_factory=lambda: _days(1, 60))
    for seriousness, default, label in (
        ("death", 1, gettext_lazy("Report a fatal adverse reaction within (days)")),
        ("serious", 15, gettext_lazy("Report a new or serious adverse reaction within (days)")),
        ("other", 30, gettext_lazy("Report other adverse reactions and quality defects within (days)")))
}

WARN_BEFORE_HOURS = declare(
    "service.warn_before_hours", default=4,
    label=gettext_lazy("Warn the owner this long before a deadline (hours)"),
    field_factory=lambda: _days(1, 72))

ESCALATE_LEADERSHIP_HOURS = declare(
    "service.escalate_leadership_hours", default=24,
    label=gettext_lazy("Tell leadership when a deadline is missed by (hours)"),
    help_text=gettext_lazy("A missed deadline goes to the owner's manager at once, to leadership after this long."),
    field_factory=lambda: _days(1, 240))


RECEIVED_BACKDATE_DAYS = declare(
    "service.received_backdate_days", default=365,
    label=gettext_lazy("A case may be logged this long after it was received (days)"),
    help_text=gettext_lazy("The received time is a business fact entered by hand (a call taken before it was "
                           "logged); it starts the clocks and the retention period, so it cannot go back further."),
    field_factory=lambda: _days(1, 3660))

COMPLAINT_RETENTION_YEARS = declare(
    "service.complaint_retention_years", default=1,
    label=gettext_lazy("Keep complaint and quality records after the batch's expiry and after receipt (years)"),
    help_text=gettext_lazy("21 CFR 211.198(b): at least one year after the expiry date of the batch, or one year "
                           "after the complaint was received, whichever is longer. Records are never deleted "
                           "automatically; past this date they are listed for quality assurance to decide."),
    field_factory=lambda: _days(1, 30))
