"""The drug catalogue. Orders, samples and distributor flow data refer to these products.

Money is whole fen (``core.money``). A product names the licence category a buyer needs
(``customers.choices.ProductCategory``); an order for it is confirmed only when
``qualification.is_qualified_for`` says the buyer holds it (GSP 第九十条).
"""

from __future__ import annotations

import datetime
from typing import Any, Self

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from pharmacrm.core.models import BaseModel, ImportJob
from pharmacrm.core.money import fen_to_yuan
from pharmacrm.core.querysets import AuditedQuerySet, ScopedQuerySet
from pharmacrm.core.workflow import StateMachine, Transition
from pharmacrm.customers.choices import ProductCategory
from pharmacrm.customers.models import Institution, visible_institution_ids
from pharmacrm.sales.choices import (
    DosageForm,
    InvoiceKind,
    MappingKind,
    MappingStatus,
    OrderStatus,
    PrescriptionClass,
    ProductStatus,
    PurchaseSource,
    ReimbursementClass,
    TherapeuticArea,
)


class ProductQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        """The catalogue is the company's own and not territorial: everyone who may view products sees it all."""
        if not getattr(user, "is_authenticated", False) or not user.has_perm("sales.view_product"):
            return self.none()
        return self

    def on_sale(self) -> Self:
        return self.filter(status=ProductStatus.ACTIVE)


class Product(BaseModel):
    code = models.CharField(_("product code"), max_length=30, unique=True,
                            help_text=_("The company's own code (SKU), as on its price list."))
    generic_name = models.CharField(_("generic name"), max_length=100, db_index=True)
    brand_name = models.CharField(_("brand name"), max_length=100, blank=True)
    dosage_form = models.CharField(_("dosage form"), max_length=20, choices=DosageForm.choices)
    strength = models.CharField(_("strength"), max_length=50, help_text=_("e.g. 10mg"))
    pack = models.CharField(_("pack"), max_length=50, help_text=_("e.g. 10 tablets × 3 blisters / box"))
    approval_number = models.CharField(_("NMPA approval number"), max_length=20,
                                       help_text=_("国药准字 + H/Z/S/J + 8 digits"))
    marketing_authorisation_holder = models.CharField(_("marketing authorisation holder"), max_length=100)
    therapeutic_area = models.CharField(_("therapeutic area"), max_length=20, choices=TherapeuticArea.choices)
    prescription_class = models.CharField(_("prescription class"), max_length=8, choices=PrescriptionClass.choices,
                                          default=PrescriptionClass.RX)
    reimbursement_class = models.CharField(_("reimbursement class"), max_length=8,
                                           choices=ReimbursementClass.choices, default=ReimbursementClass.NONE)
    volume_based_procurement = models.BooleanField(_("volume-based procurement (集采)"), default=False)
    procurement_price_fen = models.BigIntegerField(_("procurement price"), null=True, blank=True,
                                                   help_text=_("The bid price won in volume-based procurement."))
    list_price_fen = models.BigIntegerField(_("list price"))
    category = models.CharField(_("licence category needed"), max_length=32, choices=ProductCategory.choices,
                                help_text=_("A buyer's licence must cover this category (GSP 第九十条)."))
    status = models.CharField(_("status"), max_length=16, choices=ProductStatus.choices,
                              default=ProductStatus.ACTIVE)

    objects = ProductQuerySet.as_manager()

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["generic_name", "strength", "id"]
        constraints = [
            # one approval number covers one drug and strength; its packs are separate products
            models.UniqueConstraint(fields=["approval_number", "pack"], name="product_approval_pack_unique",
                                    violation_error_message=_("A product with this approval number and pack "
                                                              "already exists.")),
            models.CheckConstraint(condition=models.Q(list_price_fen__gte=0), name="product_list_price_positive"),
        ]

    def __str__(self) -> str:
        brand = f"（{self.brand_name}）" if self.brand_name else ""
        return f"{self.generic_name}{brand} {self.strength} {self.pack}"

    def get_absolute_url(self) -> str:
        return reverse("sales:product_detail", args=[self.pk])

    @property
    def list_price(self) -> Any:
        return fen_to_yuan(self.list_price_fen)

    @property
    def procurement_price(self) -> Any:
        return fen_to_yuan(self.procurement_price_fen)

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        if self.volume_based_procurement and self.procurement_price_fen is None:
            errors["procurement_price_fen"] = [_("Enter the procurement price of a volume-based procurement product.")]
        if not self.volume_based_procurement and self.procurement_price_fen is not None:
            errors["procurement_price_fen"] = [_("Only volume-based procurement products have a procurement price.")]
        if self.procurement_price_fen is not None and self.procurement_price_fen < 0:
            errors["procurement_price_fen"] = [_("A price cannot be negative.")]
        if self.list_price_fen is not None and self.list_price_fen < 0:
            errors["list_price_fen"] = [_("A price cannot be negative.")]
        if errors:
            raise ValidationError(errors)


# --- credit ---------------------------------------------------------------------------------------------


class CreditLimitQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        ids = visible_institution_ids(user)
        return self if ids is None else self.filter(institution_id__in=ids)


class CreditLimit(BaseModel):
    """How much a customer may owe us at once (赊销额度). Set by finance; the risk module evaluates it later.

    A customer without one has no credit: every order needs finance's override (先款后货).
    """

    institution = models.OneToOneField(Institution, on_delete=models.PROTECT, related_name="credit_limit",
                                       verbose_name=_("institution"))
    limit_fen = models.BigIntegerField(_("credit limit"))
    note = models.CharField(_("note"), max_length=200, blank=True)

    objects = CreditLimitQuerySet.as_manager()

    class Meta:
        verbose_name = _("credit limit")
        verbose_name_plural = _("credit limits")
        constraints = [models.CheckConstraint(condition=models.Q(limit_fen__gte=0), name="credit_limit_positive")]

    def __str__(self) -> str:
        return f"{self.institution} · {self.limit_fen / 100:.2f}"


# --- orders ---------------------------------------------------------------------------------------------


class OrderQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        """An order is visible with its buyer (a rep's customers, a manager's team, head office all)."""
        ids = visible_institution_ids(user)
        return self if ids is None else self.filter(institution_id__in=ids)


class Order(BaseModel):
    """A customer's order (seed 000 四.2). Every status change goes through ``sales.orders`` services."""

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="orders",
                                    verbose_name=_("buyer"))
    distributor = models.ForeignKey(Institution, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="distributed_orders", verbose_name=_("through distributor"))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("owner rep"))
    status = models.CharField(_("status"), max_length=20, choices=OrderStatus.choices, default=OrderStatus.DRAFT,
                              db_index=True)
    ordered_on = models.DateField(_("order date"))
    requested_delivery_on = models.DateField(_("requested delivery"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    total_fen = models.BigIntegerField(_("total"), default=0)
    status_reason = models.CharField(_("reason"), max_length=300, blank=True,
                                     help_text=_("Why it was cancelled or sent back."))
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    credit_override_reason = models.CharField(_("credit override reason"), max_length=300, blank=True)
    credit_overridden_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                             blank=True, related_name="+", verbose_name=_("credit override by"))

    objects = OrderQuerySet.as_manager()
    workflow = StateMachine("status", [
        Transition(OrderStatus.DRAFT, OrderStatus.SUBMITTED, permission="sales.change_order"),
        Transition(OrderStatus.SUBMITTED, OrderStatus.DRAFT, permission="sales.confirm_order", reason_required=True),
        Transition(OrderStatus.SUBMITTED, OrderStatus.CONFIRMED, permission="sales.confirm_order"),
        Transition((OrderStatus.CONFIRMED, OrderStatus.PARTIALLY_SHIPPED), OrderStatus.PARTIALLY_SHIPPED,
                   permission="sales.ship_order"),
        Transition((OrderStatus.CONFIRMED, OrderStatus.PARTIALLY_SHIPPED), OrderStatus.SHIPPED,
                   permission="sales.ship_order"),
        Transition(OrderStatus.SHIPPED, OrderStatus.RECEIVED, permission="sales.change_order"),
        # made by the system when invoices cover a received order (sales.orders), whoever's step it was
        Transition(OrderStatus.RECEIVED, OrderStatus.INVOICED),
        Transition(OrderStatus.INVOICED, OrderStatus.COMPLETED, permission="sales.invoice_order"),
        Transition((OrderStatus.DRAFT, OrderStatus.SUBMITTED), OrderStatus.CANCELLED, permission="sales.change_order",
                   reason_required=True),
        Transition(OrderStatus.CONFIRMED, OrderStatus.CANCELLED, permission="sales.confirm_order",
                   reason_required=True),
    ])

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-id"]
        permissions = [
            ("confirm_order", _("Can confirm orders (qualification and credit gates)")),
            ("override_credit", _("Can override the credit gate with a reason")),
            ("ship_order", _("Can record shipments")),
            ("invoice_order", _("Can record invoices and complete orders")),
        ]
        indexes = [models.Index(fields=["institution", "-id"], name="order_institution_idx")]
        constraints = [models.CheckConstraint(condition=models.Q(total_fen__gte=0), name="order_total_positive")]

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        return f"SO{self.pk:08d}" if self.pk else "SO—"

    @property
    def total(self) -> Any:
        return fen_to_yuan(self.total_fen)

    def get_absolute_url(self) -> str:
        return reverse("sales:order_detail", args=[self.pk])


class OrderLine(BaseModel):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", verbose_name=_("order"))
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+", verbose_name=_("product"))
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price_fen = models.BigIntegerField(_("unit price"))
    discount_fen = models.BigIntegerField(_("discount"), default=0, help_text=_("Amount off this line."))
    amount_fen = models.BigIntegerField(_("amount"))

    #: written only through core.audit (with their order): bulk writes are refused (RELIABILITY check 2)
    objects = AuditedQuerySet.as_manager()

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="order_line_quantity_positive"),
            models.CheckConstraint(condition=models.Q(unit_price_fen__gte=0) & models.Q(discount_fen__gte=0)
                                   & models.Q(amount_fen__gte=0), name="order_line_money_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.product} × {self.quantity}"

    def clean(self) -> None:
        gross = (self.quantity or 0) * (self.unit_price_fen or 0)
        if self.discount_fen and self.discount_fen > gross:
            raise ValidationError({"discount_fen": _("The discount is larger than the line.")})
        self.amount_fen = gross - (self.discount_fen or 0)


class ShipmentQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        return self.filter(order__in=Order.objects.visible_to(user).values("pk"))


class Shipment(BaseModel):
    """A delivery: GSP sales record with batch and expiry per line (GSP 第九十二条)."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="shipments", verbose_name=_("order"))
    shipped_on = models.DateField(_("shipped on"))
    carrier = models.CharField(_("carrier"), max_length=50)
    tracking_number = models.CharField(_("tracking number"), max_length=50, blank=True)
    received_on = models.DateField(_("received on"), null=True, blank=True)
    received_by = models.CharField(_("received by"), max_length=50, blank=True,
                                   help_text=_("Who signed for it at the customer."))

    objects = ShipmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.order.number} · {self.carrier} {self.tracking_number}".strip()


class ShipmentLine(BaseModel):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines",
                                 verbose_name=_("shipment"))
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="shipment_lines",
                                   verbose_name=_("order line"))
    quantity = models.PositiveIntegerField(_("quantity"))
    batch_number = models.CharField(_("batch number"), max_length=40)
    expiry_date = models.DateField(_("expiry date"))

    #: written only through core.audit (with their shipment): bulk writes are refused (RELIABILITY check 2)
    objects = AuditedQuerySet.as_manager()

    class Meta:
        verbose_name = _("shipment line")
        verbose_name_plural = _("shipment lines")
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=models.Q(quantity__gt=0),
                                              name="shipment_line_quantity_positive")]


class InvoiceQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        return self.filter(order__in=Order.objects.visible_to(user).values("pk"))


class Invoice(BaseModel):
    """A VAT invoice (发票) for delivered goods; the order is invoiced once invoices cover it."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="invoices", verbose_name=_("order"))
    number = models.CharField(_("invoice number"), max_length=30, unique=True)
    issued_on = models.DateField(_("issued on"))
    amount_fen = models.BigIntegerField(_("amount"))
    kind = models.CharField(_("type"), max_length=10, choices=InvoiceKind.choices)
    shipments = models.ManyToManyField(Shipment, related_name="invoices", verbose_name=_("shipments"))

    objects = InvoiceQuerySet.as_manager()

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=models.Q(amount_fen__gt=0), name="invoice_amount_positive")]

    def __str__(self) -> str:
        return self.number


# --- purchase history -------------------------------------------------------------------------------------


def month_of(day: Any) -> int:
    """2026-11-23 → 202611: the month key of purchase facts and their monthly aggregates."""
    return day.year * 100 + day.month


class PurchaseQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        """A terminal's purchases are visible with the terminal (DOMAIN.md 2.5: institution level, never per doctor)."""
        if not getattr(user, "is_authenticated", False) or not user.has_perm("sales.view_purchase"):
            return self.none()
        ids = visible_institution_ids(user)
        return self if ids is None else self.filter(institution_id__in=ids)


class Purchase(models.Model):
    """One purchase by a terminal: a delivery of ours to a direct buyer, or a line of a distributor's flow data.

    Institution level only — a purchase never names a doctor (DOMAIN.md 2.5). Rows are facts: written by
    ``sales.purchases`` in bulk (the import job or the shipment is the audited record), never edited; a
    correction is a new row (flow files report returns as negative quantities). ``line_key`` makes a
    re-imported line a no-op. Deliberately narrow, with one covering index, because there are tens of
    millions of them.
    """

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+", db_index=False,
                                    verbose_name=_("terminal"))
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+", db_index=False,
                                verbose_name=_("product"))
    purchased_on = models.DateField(_("date"))
    month = models.PositiveIntegerField(_("month"), help_text=_("yyyymm"))
    quantity = models.IntegerField(_("quantity"), help_text=_("Negative for a return."))
    amount_fen = models.BigIntegerField(_("amount"))
    source = models.CharField(_("source"), max_length=8, choices=PurchaseSource.choices)
    distributor = models.ForeignKey(Institution, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                    db_index=False, verbose_name=_("distributor"))
    batch_number = models.CharField(_("batch number"), max_length=40, blank=True)
    import_job = models.ForeignKey(ImportJob, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                   db_index=False, verbose_name=_("import"))
    shipment_line = models.ForeignKey("ShipmentLine", on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="+", db_index=False, verbose_name=_("shipment line"))
    line_key = models.BigIntegerField(unique=True, editable=False)

    objects = PurchaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("purchase")
        verbose_name_plural = _("purchases")
        ordering = ["-purchased_on", "-id"]
        indexes = [
            # covers the monthly refresh (GROUP BY institution, month, product) without touching the table
            models.Index(fields=["institution", "month", "product", "quantity", "amount_fen", "purchased_on"],
                         name="purchase_institution_month_idx"),
        ]
        constraints = [models.CheckConstraint(condition=~models.Q(quantity=0), name="purchase_quantity_not_zero")]

    def __str__(self) -> str:
        return f"{self.purchased_on} · {self.product_id} × {self.quantity}"

    @property
    def amount(self) -> Any:
        return fen_to_yuan(self.amount_fen)


class PurchaseMonth(models.Model):
    """What a terminal bought of a product in a month: the sum of its ``Purchase`` rows, kept current by
    ``sales.purchases`` (incrementally on every write, in full by ``refresh_purchase_months``).

    Keyed by (terminal, month, product) itself, with no surrogate id: on SQLite the table is WITHOUT ROWID
    (migration 0004), one B-tree instead of a table plus a unique index — a full refresh writes half as much.
    The last purchase is kept as a day of ``month`` (migration 0005): a quarter fewer bytes a row than a
    date that repeats the month, and a number is cheaper to take the largest of than a date's text.
    """

    pk = models.CompositePrimaryKey("institution", "month", "product")
    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="+", db_index=False,
                                    verbose_name=_("terminal"))
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+", db_index=False,
                                verbose_name=_("product"))
    month = models.PositiveIntegerField(_("month"))
    quantity = models.BigIntegerField(_("quantity"))
    amount_fen = models.BigIntegerField(_("amount"))
    lines = models.PositiveIntegerField(_("purchases"))
    last_day = models.PositiveSmallIntegerField(_("last purchase day"), help_text=_("Day of the month, 1–31."))

    objects = PurchaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("monthly purchases")
        verbose_name_plural = _("monthly purchases")
        ordering = ["-month", "product_id"]

    def __str__(self) -> str:
        return f"{self.institution_id} · {self.month} · {self.product_id}"

    @property
    def amount(self) -> Any:
        return fen_to_yuan(self.amount_fen)

    @property
    def last_purchased_on(self) -> datetime.date:
        return datetime.date(self.month // 100, self.month % 100, self.last_day)


# --- distributor flow data ---------------------------------------------------------------------------------


class FlowMappingQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        """The mapping queue is the data stewards' work; names in it are not yet anyone's customers."""
        if not getattr(user, "is_authenticated", False) or not user.has_perm("sales.view_flowmapping"):
            return self.none()
        return self


class FlowMapping(BaseModel):
    """How a name in distributors' flow files maps to our master data, decided once by a steward and remembered.

    A row whose terminal, distributor or product is not found by code, USCC, exact name, alias or (terminals)
    a confident fuzzy match in the same city waits in ``FlowPendingRow`` under an open mapping; resolving the
    mapping turns every waiting row that is then complete into purchases.
    """

    kind = models.CharField(_("kind"), max_length=12, choices=MappingKind.choices)
    name = models.CharField(_("name in the file"), max_length=200)
    city = models.CharField(_("city in the file"), max_length=50, blank=True)
    #: normalised name + city: what a later file's row is looked up by
    key = models.CharField(max_length=260, editable=False)
    status = models.CharField(_("status"), max_length=10, choices=MappingStatus.choices, default=MappingStatus.OPEN,
                              db_index=True)
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                    verbose_name=_("institution"))
    product = models.ForeignKey(Product, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                verbose_name=_("product"))
    suggestion = models.ForeignKey(Institution, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                   verbose_name=_("suggested match"))
    suggestion_score = models.PositiveSmallIntegerField(_("similarity"), null=True, blank=True)
    pending_rows = models.PositiveIntegerField(_("rows waiting"), default=0)
    pending_amount_fen = models.BigIntegerField(_("amount waiting"), default=0)

    protected_fields = (*BaseModel.protected_fields, "key", "pending_rows", "pending_amount_fen")
    #: counts of ``FlowPendingRow``: recomputed, not audited
    derived_fields = ("pending_rows", "pending_amount_fen")

    objects = FlowMappingQuerySet.as_manager()

    class Meta:
        verbose_name = _("flow-data mapping")
        verbose_name_plural = _("flow-data mappings")
        ordering = ["status", "-pending_amount_fen", "id"]
        permissions = [("import_flow", _("Can import distributor flow data"))]
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="flow_mapping_key_unique")]

    def __str__(self) -> str:
        return f"{self.name} ({self.city})" if self.city else self.name

    def get_absolute_url(self) -> str:
        return reverse("sales:flow_mapping", args=[self.pk])

    @property
    def target(self) -> Any:
        return self.product if self.kind == MappingKind.PRODUCT else self.institution

    @property
    def pending_amount(self) -> Any:
        return fen_to_yuan(self.pending_amount_fen)


class FlowPendingRow(models.Model):
    """A flow-data line waiting for a mapping: its values already parsed, its unknown names by mapping."""

    import_job = models.ForeignKey(ImportJob, on_delete=models.PROTECT, related_name="+", verbose_name=_("import"))
    row_number = models.PositiveIntegerField(_("row"))
    purchased_on = models.DateField(_("date"))
    quantity = models.IntegerField(_("quantity"))
    amount_fen = models.BigIntegerField(_("amount"))
    batch_number = models.CharField(_("batch number"), max_length=40, blank=True)
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, null=True, related_name="+")
    distributor = models.ForeignKey(Institution, on_delete=models.PROTECT, null=True, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, null=True, related_name="+")
    terminal_mapping = models.ForeignKey(FlowMapping, on_delete=models.PROTECT, null=True, related_name="+")
    distributor_mapping = models.ForeignKey(FlowMapping, on_delete=models.PROTECT, null=True, related_name="+")
    product_mapping = models.ForeignKey(FlowMapping, on_delete=models.PROTECT, null=True, related_name="+")
    line_key = models.BigIntegerField(unique=True)

    objects = FlowMappingQuerySet.as_manager()

    class Meta:
        verbose_name = _("waiting flow-data row")
        verbose_name_plural = _("waiting flow-data rows")
        ordering = ["import_job_id", "row_number"]

    def __str__(self) -> str:
        return f"{self.import_job_id}:{self.row_number}"
