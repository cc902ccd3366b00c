"""Choices of sample inventory (seed 000 四.1 样品提供)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class MovementKind(models.TextChoices):
    """One row of the ledger; the sign of its quantity says which way stock moved."""

    RECEIPT = "receipt", _("Receipt from head office")
    TRANSFER_OUT = "transfer_out", _("Transfer out")
    TRANSFER_IN = "transfer_in", _("Transfer in")
    TRANSFER_REVERSAL = "transfer_reversal", _("Transfer cancelled (stock back)")
    RETURN = "return", _("Return to head office")
    ADJUSTMENT = "adjustment", _("Adjustment")
    DISBURSEMENT = "disbursement", _("Disbursement")
    RECONCILIATION = "reconciliation", _("Reconciliation difference")


class TransferKind(models.TextChoices):
    RECEIPT = "receipt", _("Receipt from head office")
    TRANSFER = "transfer", _("Transfer between reps")


class TransferStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting confirmation")
    CONFIRMED = "confirmed", _("Confirmed")
    CANCELLED = "cancelled", _("Cancelled")


class ReconciliationStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Awaiting approval")
    SENT_BACK = "sent_back", _("Sent back")
    APPROVED = "approved", _("Approved")
