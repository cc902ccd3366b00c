"""Choices of the drug catalogue (seed 000 四.1: products the company consults on, recommends and sells)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class DosageForm(models.TextChoices):
    TABLET = "tablet", _("Tablet")
    CAPSULE = "capsule", _("Capsule")
    INJECTION = "injection", _("Injection")
    GRANULE = "granule", _("Granules")
    ORAL_SOLUTION = "oral_solution", _("Oral solution")
    OINTMENT = "ointment", _("Ointment")
    PILL = "pill", _("Pill")
    POWDER = "powder", _("Powder")
    EYE_DROPS = "eye_drops", _("Eye drops")
    INHALATION = "inhalation", _("Inhalation")
    OTHER = "other", _("Other")


class PrescriptionClass(models.TextChoices):
    """处方药 / 甲类非处方药 (pharmacist needed) / 乙类非处方药."""

    RX = "rx", _("Prescription (Rx)")
    OTC_A = "otc_a", _("OTC class A")
    OTC_B = "otc_b", _("OTC class B")


class ReimbursementClass(models.TextChoices):
    """National reimbursement drug list (国家医保目录) class."""

    CLASS_A = "a", _("NRDL class A")
    CLASS_B = "b", _("NRDL class B")
    NONE = "none", _("Not reimbursed")


class TherapeuticArea(models.TextChoices):
    CARDIOVASCULAR = "cardiovascular", _("Cardiovascular")
    ONCOLOGY = "oncology", _("Oncology")
    ENDOCRINE = "endocrine", _("Endocrine and metabolism")
    RESPIRATORY = "respiratory", _("Respiratory")
    DIGESTIVE = "digestive", _("Digestive")
    ANTI_INFECTIVE = "anti_infective", _("Anti-infectives")
    NEUROLOGY = "neurology", _("Neurology and psychiatry")
    IMMUNOLOGY = "immunology", _("Immunology")
    TCM = "tcm", _("Traditional Chinese medicine")
    OTHER = "other", _("Other")


class ProductStatus(models.TextChoices):
    ACTIVE = "active", _("On sale")
    SUSPENDED = "suspended", _("Suspended")
    DISCONTINUED = "discontinued", _("Discontinued")


class OrderStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    CONFIRMED = "confirmed", _("Confirmed")
    PARTIALLY_SHIPPED = "partially_shipped", _("Partially shipped")
    SHIPPED = "shipped", _("Shipped")
    RECEIVED = "received", _("Received")
    INVOICED = "invoiced", _("Invoiced")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


#: orders whose amount the customer still owes: confirmed and not yet completed (paid) or cancelled
OPEN_RECEIVABLE_STATUSES = (OrderStatus.CONFIRMED, OrderStatus.PARTIALLY_SHIPPED, OrderStatus.SHIPPED,
                            OrderStatus.RECEIVED, OrderStatus.INVOICED)


class InvoiceKind(models.TextChoices):
    SPECIAL = "special", _("Special VAT invoice (专票)")
    ORDINARY = "ordinary", _("Ordinary VAT invoice (普票)")


class PurchaseSource(models.TextChoices):
    ORDER = "order", _("Our delivery")
    FLOW = "flow", _("Distributor flow data")


class MappingKind(models.TextChoices):
    TERMINAL = "terminal", _("Terminal")
    DISTRIBUTOR = "distributor", _("Distributor")
    PRODUCT = "product", _("Product")


class MappingStatus(models.TextChoices):
    OPEN = "open", _("Waiting")
    RESOLVED = "resolved", _("Mapped")
