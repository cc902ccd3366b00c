"""Sample inventory (seed 000 四.1 样品提供, "in line with company rules"; DOMAIN.md PDMA note: tracked by lot to
the point of disbursement, reconciled periodically).

* ``SampleLot`` — a batch of a catalogue product with its expiry date, kept by head office.
* ``StockMovement`` — the ledger: one row per movement of one lot in or out of one rep's stock, never edited;
  a correction is a new movement. A rep's stock of a lot is the sum of its rows.
* ``StockBalance`` — that sum kept per rep × lot, updated in the same transaction as the movement under a row
  lock, so "stock would go negative" is decided on a locked number. It is derived: ``verify_balances`` in
  ``samples.services`` recomputes it from the ledger.
* ``StockTransfer`` — a receipt from head office or a transfer between reps: it counts for the recipient only
  once they confirm it.
* ``Disbursement`` — samples handed to a contact at an institution, with the recipient's signature.
* ``Reconciliation`` — a rep's count of their stock, approved by their manager.

Every write goes through ``samples.services``.
"""

from __future__ import annotations

from typing import Any, Self

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from pharmacrm.core.models import BaseModel, StoredFile
from pharmacrm.core.querysets import ScopedQuerySet
from pharmacrm.core.workflow import StateMachine, Transition
from pharmacrm.customers.models import Contact, Institution
from pharmacrm.org.querysets import HolderScopedQuerySet
from pharmacrm.sales.models import Product
from pharmacrm.samples.choices import MovementKind, ReconciliationStatus, TransferKind, TransferStatus

# --- lots -----------------------------------------------------------------------------------------------


class SampleLotQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        """Lots are head office's catalogue of batches: everyone with the right to see samples sees them all."""
        if not getattr(user, "is_authenticated", False) or not user.has_perm("samples.view_samplelot"):
            return self.none()
        return self


class SampleLot(BaseModel):
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="sample_lots",
                                verbose_name=_("product"))
    batch_number = models.CharField(_("batch number"), max_length=40)
    expiry_date = models.DateField(_("expiry date"))
    notes = models.CharField(_("notes"), max_length=200, blank=True)

    objects = SampleLotQuerySet.as_manager()

    class Meta:
        verbose_name = _("sample lot")
        verbose_name_plural = _("sample lots")
        ordering = ["expiry_date", "id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "batch_number"], name="samplelot_product_batch_unique",
                                    violation_error_message=_("This product already has a lot with this batch "
                                                              "number.")),
        ]

    def __str__(self) -> str:
        return f"{self.product.generic_name} {self.product.strength} · {self.batch_number}"


# --- transfers (receipts from head office, transfers between reps) ---------------------------------------


class StockTransferQuerySet(HolderScopedQuerySet):
    holder_fields = ("from_holder", "to_holder")


class StockTransfer(BaseModel):
    """Stock on its way to a rep: from head office (a receipt) or from another rep (a transfer).

    The recipient's stock grows only when they confirm it (they have the goods in hand). A transfer leaves the
    sender's stock when it is sent, so the same units cannot be handed out twice; cancelling it books them back.
    """

    kind = models.CharField(_("type"), max_length=16, choices=TransferKind.choices)
    lot = models.ForeignKey(SampleLot, on_delete=models.PROTECT, related_name="+", verbose_name=_("lot"))
    quantity = models.PositiveIntegerField(_("quantity"))
    from_holder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("from"))
    to_holder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("to"))
    status = models.CharField(_("status"), max_length=16, choices=TransferStatus.choices,
                              default=TransferStatus.PENDING, db_index=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    status_reason = models.CharField(_("reason"), max_length=300, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)

    objects = StockTransferQuerySet.as_manager()
    workflow = StateMachine("status", [
        # who may confirm or cancel is decided in samples.services (the recipient confirms; either side cancels)
        Transition(TransferStatus.PENDING, TransferStatus.CONFIRMED),
        Transition(TransferStatus.PENDING, TransferStatus.CANCELLED, reason_required=True),
    ])

    class Meta:
        verbose_name = _("stock transfer")
        verbose_name_plural = _("stock transfers")
        ordering = ["-id"]
        permissions = [("dispatch_samples", _("Can dispatch samples from head office to reps"))]
        indexes = [models.Index(fields=["to_holder", "status"], name="transfer_to_status_idx"),
                   models.Index(fields=["from_holder", "status"], name="transfer_from_status_idx")]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="transfer_quantity_positive")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} · {self.lot} × {self.quantity}"

    def get_absolute_url(self) -> str:
        return reverse("samples:transfer_detail", args=[self.pk])


# --- disbursements ----------------------------------------------------------------------------------------


class DisbursementQuerySet(HolderScopedQuerySet):
    pass


class Disbursement(BaseModel):
    """Samples handed to a healthcare professional, signed for on screen (seed 000 四.1).

    Visits do not exist yet: when the engagement module adds them, a disbursement made during a visit will
    point at it (a nullable ``visit`` foreign key added by that issue); until then time and place are recorded
    here.
    """

    holder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("rep"))
    lot = models.ForeignKey(SampleLot, on_delete=models.PROTECT, related_name="+", verbose_name=_("lot"))
    quantity = models.PositiveIntegerField(_("quantity"))
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="+", verbose_name=_("recipient"))
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("institution"))
    disbursed_at = models.DateTimeField(_("time"))
    place = models.CharField(_("place"), max_length=200)
    signature = models.ForeignKey(StoredFile, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                  verbose_name=_("signature"))
    notes = models.CharField(_("notes"), max_length=300, blank=True)

    objects = DisbursementQuerySet.as_manager()

    class Meta:
        verbose_name = _("disbursement")
        verbose_name_plural = _("disbursements")
        ordering = ["-id"]
        indexes = [models.Index(fields=["contact", "disbursed_at"], name="disbursement_contact_idx"),
                   models.Index(fields=["holder", "-id"], name="disbursement_holder_idx"),
                   models.Index(fields=["institution", "-id"], name="disbursement_institution_idx")]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="disbursement_quantity_positive")]

    def __str__(self) -> str:
        return f"{self.number} · {self.lot} × {self.quantity}"

    @property
    def number(self) -> str:
        return f"SD{self.pk:08d}" if self.pk else "SD—"

    def get_absolute_url(self) -> str:
        return reverse("samples:disbursement_detail", args=[self.pk])


# --- reconciliation ---------------------------------------------------------------------------------------


class ReconciliationQuerySet(HolderScopedQuerySet):
    pass


class Reconciliation(BaseModel):
    """A rep's periodic count of their samples (PDMA-style inventory; seed 000 四.1 company rules).

    Expected quantities are the ledger's at submission; a line whose count differs needs a reason. The manager
    approves (each difference is booked as a reconciliation movement) or sends it back for a recount.
    """

    holder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("rep"))
    counted_on = models.DateField(_("counted on"))
    status = models.CharField(_("status"), max_length=16, choices=ReconciliationStatus.choices,
                              default=ReconciliationStatus.SUBMITTED, db_index=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    status_reason = models.CharField(_("reason"), max_length=300, blank=True,
                                     help_text=_("Why it was sent back."))
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    objects = ReconciliationQuerySet.as_manager()
    workflow = StateMachine("status", [
        Transition(ReconciliationStatus.SUBMITTED, ReconciliationStatus.APPROVED,
                   permission="samples.approve_reconciliation"),
        Transition(ReconciliationStatus.SUBMITTED, ReconciliationStatus.SENT_BACK,
                   permission="samples.approve_reconciliation", reason_required=True),
        Transition(ReconciliationStatus.SENT_BACK, ReconciliationStatus.SUBMITTED,
                   permission="samples.add_reconciliation"),
    ])

    class Meta:
        verbose_name = _("reconciliation")
        verbose_name_plural = _("reconciliations")
        ordering = ["-id"]
        permissions = [("approve_reconciliation", _("Can approve sample reconciliations"))]

    def __str__(self) -> str:
        return f"{self.number} · {self.counted_on:%Y-%m-%d}"

    @property
    def number(self) -> str:
        return f"SR{self.pk:08d}" if self.pk else "SR—"

    def get_absolute_url(self) -> str:
        return reverse("samples:reconciliation_detail", args=[self.pk])


class ReconciliationLineQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        return self.filter(reconciliation__in=Reconciliation.objects.visible_to(user).values("pk"))


class ReconciliationLine(BaseModel):
    reconciliation = models.ForeignKey(Reconciliation, on_delete=models.CASCADE, related_name="lines",
                                       verbose_name=_("reconciliation"))
    lot = models.ForeignKey(SampleLot, on_delete=models.PROTECT, related_name="+", verbose_name=_("lot"))
    expected = models.IntegerField(_("expected"))
    counted = models.PositiveIntegerField(_("counted"))
    reason = models.CharField(_("reason for the difference"), max_length=300, blank=True)

    objects = ReconciliationLineQuerySet.as_manager()

    class Meta:
        verbose_name = _("reconciliation line")
        verbose_name_plural = _("reconciliation lines")
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["reconciliation", "lot"], name="reconciliation_lot_unique")]

    @property
    def difference(self) -> int:
        return self.counted - self.expected


# --- the ledger and its balances --------------------------------------------------------------------------


class StockMovementQuerySet(HolderScopedQuerySet):
    pass


class StockMovement(models.Model):
    """One movement of one lot in or out of one rep's stock. Never edited or deleted: a correction is a new
    movement (an adjustment or a reconciliation difference)."""

    holder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("rep"))
    lot = models.ForeignKey(SampleLot, on_delete=models.PROTECT, related_name="+", verbose_name=_("lot"))
    kind = models.CharField(_("type"), max_length=20, choices=MovementKind.choices)
    quantity = models.IntegerField(_("quantity"), help_text=_("Positive in, negative out."))
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("recorded by"))
    transfer = models.ForeignKey(StockTransfer, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    disbursement = models.ForeignKey(Disbursement, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+")
    reconciliation = models.ForeignKey(Reconciliation, on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="+")

    objects = StockMovementQuerySet.as_manager()

    class Meta:
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        ordering = ["-id"]
        indexes = [models.Index(fields=["holder", "lot"], name="movement_holder_lot_idx"),
                   models.Index(fields=["holder", "-id"], name="movement_holder_idx")]
        constraints = [models.CheckConstraint(condition=~Q(quantity=0), name="movement_quantity_nonzero")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.quantity:+d} · {self.lot}"


class StockBalanceQuerySet(HolderScopedQuerySet):
    pass


class StockBalance(models.Model):
    """A rep's stock of one lot: the sum of the ledger, kept current under a row lock (derived, so its
    updates are not audited; each movement that changes it is)."""

    holder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("rep"))
    lot = models.ForeignKey(SampleLot, on_delete=models.PROTECT, related_name="+", verbose_name=_("lot"))
    quantity = models.IntegerField(_("in stock"), default=0)

    objects = StockBalanceQuerySet.as_manager()
    derived_fields = ("quantity",)

    class Meta:
        verbose_name = _("stock balance")
        verbose_name_plural = _("stock balances")
        ordering = ["lot__expiry_date", "id"]
        constraints = [
            models.UniqueConstraint(fields=["holder", "lot"], name="balance_holder_lot_unique"),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="balance_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.lot} × {self.quantity}"
