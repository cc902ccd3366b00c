"""Choices of the service desk (seed 000 四 客户服务管理, seed 003 四.3 投诉处理)."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class CaseKind(models.TextChoices):
    CONSULTATION = "consultation", _("Product consultation")  # 售前: 产品咨询与推荐
    CLINICAL = "clinical", _("Clinical inquiry")  # 医学/临床问题 (24-hour response)
    QUALITY = "quality", _("Quality feedback")  # 质量反馈: product, batch, evidence
    RETURN = "return", _("Return, exchange or compensation")  # 退换货、补货、补偿
    GUIDANCE = "guidance", _("Medication guidance")  # 用药指导: medical staff, not sales
    COMPLAINT = "complaint", _("Complaint")  # 投诉


#: kinds medical staff handle (DOMAIN.md seed conflicts: medication guidance is not a sales task)
MEDICAL_KINDS = (CaseKind.CLINICAL, CaseKind.GUIDANCE)
#: kinds that need a root cause and a corrective action to close (GxP records)
ROOT_CAUSE_KINDS = (CaseKind.COMPLAINT, CaseKind.QUALITY)


class CaseStatus(models.TextChoices):
    RECEIVED = "received", pgettext_lazy("case status", "Received")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    INVESTIGATING = "investigating", _("Investigating")
    PROPOSED = "proposed", _("Solution proposed")
    RESOLVED = "resolved", _("Resolved")
    CONFIRMED = "confirmed", _("Confirmed by the customer")
    FOLLOWED_UP = "followed_up", _("Follow-up visit done")
    CLOSED = "closed", _("Closed")
    #: a GxP record is never deleted: "deleting" one voids it, with a reason, and keeps it (21 CFR 211.198)
    VOIDED = "voided", _("Voided")


#: statuses a case may be voided from: all but voided
VOIDABLE_STATUSES = tuple(status for status in CaseStatus if status != CaseStatus.VOIDED)
OPEN_CASE_STATUSES = (CaseStatus.RECEIVED, CaseStatus.ACKNOWLEDGED, CaseStatus.INVESTIGATING, CaseStatus.PROPOSED)


class Severity(models.TextChoices):
    LOW = "low", pgettext_lazy("severity", "Low")
    MEDIUM = "medium", pgettext_lazy("severity", "Medium")
    HIGH = "high", pgettext_lazy("severity", "High")
    CRITICAL = "critical", pgettext_lazy("severity", "Critical")


class CaseChannel(models.TextChoices):
    HOTLINE = "hotline", _("Hotline")
    EMAIL = "email", _("Email")
    VISIT = "visit", _("During a visit")
    WECHAT = "wechat", _("WeChat")
    OTHER = "other", _("Other")


class ReturnKind(models.TextChoices):
    RETURN = "return", pgettext_lazy("return kind", "Return")
    EXCHANGE = "exchange", _("Exchange")
    REPLENISHMENT = "replenishment", _("Replenishment")
    COMPENSATION = "compensation", _("Compensation")


class RootCause(models.TextChoices):
    PRODUCT_QUALITY = "product_quality", _("Product quality")
    PACKAGING = "packaging", _("Packaging or labelling")
    LOGISTICS = "logistics", _("Logistics and delivery")
    ORDER_HANDLING = "order_handling", _("Order handling")
    INVOICING = "invoicing", _("Invoicing and payment")
    SERVICE = "service", _("Service attitude or response")
    INFORMATION = "information", _("Product information")
    USE = "use", _("Use or storage at the customer")
    NOT_CONFIRMED = "not_confirmed", _("Not confirmed")
    OTHER = "other", _("Other")


class PvKind(models.TextChoices):
    ADVERSE_REACTION = "adr", _("Possible adverse reaction")
    QUALITY_DEFECT = "pqc", _("Possible quality defect")


class PvSeriousness(models.TextChoices):
    """China ADR reporting (《药品不良反应报告和监测管理办法》): deaths at once, new or serious within 15 days,
    others within 30 — the days are policy parameters (DOMAIN.md asks to verify them against the text)."""

    DEATH = "death", _("Death")
    SERIOUS = "serious", _("New or serious")
    OTHER = "other", _("Other")


class ClockKind(models.TextChoices):
    FIRST_RESPONSE = "first_response", _("First response")
    CONTACT = "contact", _("Contact the customer")
    RESOLUTION = "resolution", _("Resolution")
    PV_REPORT = "pv_report", _("Pharmacovigilance report")


class ClockBasis(models.TextChoices):
    HOURS = "hours", _("Hours")
    WORKING_DAYS = "working_days", _("Working days")
    DAYS = "days", _("Calendar days")
