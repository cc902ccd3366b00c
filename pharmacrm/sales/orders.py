"""Order services (seed 000 四.2): draft, submit, confirm through the GSP and credit gates, ship, receive,
invoice, complete, cancel. Pages, the API and demo data call these; nothing else changes an order.

Gates (DESIGN.md, DOMAIN.md 2.3):

* GSP 第八十九至九十条 — the buyer must be qualified for every product's licence category, at
  confirmation and again when a shipment is released. No one can override it.
* Credit — open receivables plus this order must stay within the buyer's credit limit; finance alone
  may override, with a reason, recorded on the order and in the audit trail.

Confirmation locks the buyer's row, so two orders of one customer cannot both pass the credit gate on
the same headroom, and re-reads the order under the lock, so of two concurrent confirmations one wins.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from pharmacrm.core import policy
from pharmacrm.core.audit import Change, append, audited_create, audited_delete, audited_update
from pharmacrm.core.models import AuditAction
from pharmacrm.core.money import format_yuan
from pharmacrm.core.notifications import notify
from pharmacrm.core.retry import retry_on_conflict
from pharmacrm.core.workflow import TransitionNotAllowed, advance
from pharmacrm.customers import qualification
from pharmacrm.customers.choices import InstitutionKind
from pharmacrm.customers.models import Institution
from pharmacrm.org.scope import authorize
from pharmacrm.sales import purchases
from pharmacrm.sales.choices import OPEN_RECEIVABLE_STATUSES, OrderStatus, ProductStatus
from pharmacrm.sales.models import CreditLimit, Invoice, Order, OrderLine, Product, Shipment, ShipmentLine


class GateRefused(ValidationError):
    """A confirmation or shipment gate said no; ``overridable`` when finance may still proceed."""

    def __init__(self, messages: list[str], *, gate: str, overridable: bool = False):
        super().__init__({"__all__": messages})
        self.gate = gate
        self.overridable = overridable


def _visible(model: type, actor: Any, obj: Any) -> None:
    if not model._default_manager.visible_to(actor).filter(pk=obj.pk).exists():
        raise PermissionDenied("not visible")


def _notify_owner(order: Order, actor: Any, title: str) -> None:
    if order.owner_id != getattr(actor, "pk", None):
        notify(order.owner, title, url=order.get_absolute_url())


# --- credit ---------------------------------------------------------------------------------------------


def _lock_buyer(institution: Institution) -> None:
    """One customer's credit at a time: the customer's row is locked first (as ``confirm_order`` does), so two
    first limits of one customer cannot both be created (the second waits, then updates) and locks are taken
    in one order (customer, limit, audit chain)."""
    Institution.objects.select_for_update().filter(pk=institution.pk).first()


@retry_on_conflict
def set_credit_limit(*, actor: Any, institution: Institution, limit_fen: int, note: str = "") -> CreditLimit:
    """Finance sets how much the customer may owe at once; every change is audited."""
    authorize(actor, "sales.change_creditlimit")
    with transaction.atomic():
        _lock_buyer(institution)
        current = CreditLimit.objects.select_for_update().filter(institution=institution).first()
        if current is None:
            return audited_create(CreditLimit, actor=actor, institution=institution, limit_fen=limit_fen, note=note)
        return audited_update(current, actor=actor, changes={"limit_fen": limit_fen, "note": note})


@retry_on_conflict
def adjust_credit_limit(*, actor: Any, institution: Institution, by_fen: int, note: str = "") -> CreditLimit:
    """Finance raises (or lowers) the limit by an amount (a temporary raise for a tender, say).

    The new limit is computed from the row read under its lock, never from a value the caller read
    earlier: two raises at once both count (RELIABILITY.md #22, lost update).
    """
    authorize(actor, "sales.change_creditlimit")
    if not isinstance(by_fen, int) or isinstance(by_fen, bool) or by_fen == 0:
        raise ValidationError({"by_fen": _("Enter a whole amount in fen other than 0.")})
    with transaction.atomic():
        _lock_buyer(institution)
        current = CreditLimit.objects.select_for_update().filter(institution=institution).first()
        limit_fen = (current.limit_fen if current else 0) + by_fen
        if limit_fen < 0:
            raise ValidationError({"by_fen": _("The credit limit cannot go below zero.")})
        if current is None:
            return audited_create(CreditLimit, actor=actor, institution=institution, limit_fen=limit_fen, note=note)
        return audited_update(current, actor=actor, changes={"limit_fen": limit_fen, "note": note or current.note})


def open_receivables_fen(institution: Institution, *, excluding: Order | None = None) -> int:
    """What the customer owes on confirmed orders not yet completed (paid)."""
    orders = Order.objects.filter(institution=institution, status__in=OPEN_RECEIVABLE_STATUSES)
    if excluding is not None:
        orders = orders.exclude(pk=excluding.pk)
    return orders.aggregate(total=Sum("total_fen"))["total"] or 0


def with_open_receivables(limits: QuerySet) -> QuerySet:
    """Credit limits annotated with ``open_receivables_fen``: the same sum, one subquery for a whole list."""
    owed = (Order.objects.filter(institution=OuterRef("institution"), status__in=OPEN_RECEIVABLE_STATUSES)
            .order_by().values("institution").annotate(total=Sum("total_fen")).values("total"))
    return limits.annotate(open_receivables_fen=Coalesce(Subquery(owed), 0))


# --- drafts ---------------------------------------------------------------------------------------------


def _line_objects(order: Order, lines: Iterable[dict[str, Any]]) -> list[OrderLine]:
    built, errors = [], []
    for number, line in enumerate(lines, start=1):
        product: Product = line["product"]
        if product.status != ProductStatus.ACTIVE:
            errors.append(_("Line %(line)s: %(product)s is not on sale.") % {"line": number, "product": product})
            continue
        price = line.get("unit_price_fen")
        if price is None:
            price = product.procurement_price_fen if product.volume_based_procurement else product.list_price_fen
        item = OrderLine(order=order, product=product, quantity=line["quantity"], unit_price_fen=price,
                         discount_fen=line.get("discount_fen") or 0, amount_fen=0)
        try:
            item.full_clean(exclude=["order"])
        except ValidationError as error:
            errors += [_("Line %(line)s: %(error)s") % {"line": number, "error": message}
                       for message in error.messages]
        built.append(item)
    if not built and not errors:
        errors.append(_("An order needs at least one line."))
    if errors:
        raise ValidationError({"lines": errors})
    return built


def _write_lines(actor: Any, order: Order, lines: list[OrderLine]) -> Order:
    for existing in list(order.lines.all()):
        audited_delete(existing, actor=actor, reason=_("Lines replaced"))
    for line in lines:
        audited_create(OrderLine, actor=actor, order=order, product=line.product, quantity=line.quantity,
                       unit_price_fen=line.unit_price_fen, discount_fen=line.discount_fen, amount_fen=line.amount_fen)
    return audited_update(order, actor=actor, changes={"total_fen": sum(line.amount_fen for line in lines)})


def create_order(*, actor: Any, institution: Institution, lines: list[dict[str, Any]],
                 distributor: Institution | None = None, ordered_on: datetime.date | None = None,
                 requested_delivery_on: datetime.date | None = None, notes: str = "") -> Order:
    """A draft order for a customer the actor can see; prices default to the VBP or list price."""
    authorize(actor, "sales.add_order")
    _visible(Institution, actor, institution)
    if institution.merged_into_id:
        raise ValidationError({"institution": _("This customer was merged into another; order for that one.")})
    if distributor is not None and (distributor.kind != InstitutionKind.DISTRIBUTOR or distributor.merged_into_id):
        raise ValidationError({"distributor": _("Choose a distributor (商业公司).")})
    with transaction.atomic():
        order = audited_create(Order, actor=actor, institution=institution, distributor=distributor,
                               owner=institution.owner, ordered_on=ordered_on or policy.today(),
                               requested_delivery_on=requested_delivery_on, notes=notes)
        return _write_lines(actor, order, _line_objects(order, lines))


def replace_lines(*, actor: Any, order: Order, lines: list[dict[str, Any]],
                  expected_version: int | None = None) -> Order:
    authorize(actor, "sales.change_order")
    with transaction.atomic():
        order = _locked(order, expected_version)
        if order.status != OrderStatus.DRAFT:
            raise TransitionNotAllowed(_("Only a draft order's lines can be changed."))
        return _write_lines(actor, order, _line_objects(order, lines))


def _locked(order: Order, expected_version: int | None = None) -> Order:
    from pharmacrm.core.audit import StaleVersion

    current = Order.objects.select_for_update().get(pk=order.pk)
    if expected_version is not None and current.version != expected_version:
        raise StaleVersion(current.version)
    return current


def submit_order(*, actor: Any, order: Order) -> Order:
    with transaction.atomic():
        order = _locked(order)
        if not order.lines.exists():
            raise ValidationError({"lines": [_("An order needs at least one line.")]})
        order = advance(order, to=OrderStatus.SUBMITTED, actor=actor)
        _notify_owner(order, actor, _("Order %(number)s was submitted.") % {"number": order.number})
    return order


def _with_reason(actor: Any, order: Order, to: str, reason: str, told: str) -> Order:
    with transaction.atomic():
        order = advance(_locked(order), to=to, actor=actor, reason=reason, changes={"status_reason": reason[:300]})
        _notify_owner(order, actor, told % {"number": order.number, "reason": reason[:100]})
    return order


def return_order(*, actor: Any, order: Order, reason: str) -> Order:
    """The manager sends a submitted order back to the rep as a draft, saying why."""
    return _with_reason(actor, order, OrderStatus.DRAFT, reason, _("Order %(number)s was sent back: %(reason)s"))


def cancel_order(*, actor: Any, order: Order, reason: str) -> Order:
    return _with_reason(actor, order, OrderStatus.CANCELLED, reason, _("Order %(number)s was cancelled: %(reason)s"))


# --- gates ----------------------------------------------------------------------------------------------


def gsp_refusals(order: Order, on: datetime.date | None = None) -> list[str]:
    """Why the buyer may not receive this order's products now (empty when it may)."""
    reasons: list[str] = []
    categories = sorted({line.product.category for line in order.lines.select_related("product")})
    for category in categories:
        check = qualification.is_qualified_for(order.institution, category, on=on)
        reasons += [reason for reason in check.reasons if reason not in reasons]
    return reasons


def credit_refusal(order: Order) -> str | None:
    limit = CreditLimit.objects.filter(institution_id=order.institution_id).values_list("limit_fen", flat=True).first()
    owed = open_receivables_fen(order.institution, excluding=order)
    if limit is not None and owed + order.total_fen <= limit:
        return None
    return _("Open receivables %(owed)s plus this order %(order)s exceed the credit limit %(limit)s "
             "(credit policy: finance may override with a reason).") % {
        "owed": format_yuan(owed), "order": format_yuan(order.total_fen),
        "limit": format_yuan(limit) if limit is not None else _("none set")}


@retry_on_conflict
def confirm_order(*, actor: Any, order: Order, credit_override_reason: str = "") -> Order:
    """Confirm a submitted order: GSP gate (never overridable), then the credit gate (finance may override)."""
    authorize(actor, "sales.confirm_order")
    with transaction.atomic():
        Institution.objects.select_for_update().filter(pk=order.institution_id).first()  # one buyer, one at a time
        order = _locked(order)
        if order.status != OrderStatus.SUBMITTED:
            raise TransitionNotAllowed(_("Only a submitted order can be confirmed; this one is %(status)s.")
                                       % {"status": order.get_status_display()})
        refusals = gsp_refusals(order)
        if refusals:
            raise GateRefused(refusals, gate="gsp")
        changes: dict[str, Any] = {"confirmed_at": timezone.now()}
        refusal = credit_refusal(order)
        if refusal:
            reason = credit_override_reason.strip()
            if not reason or not actor.has_perm("sales.override_credit"):
                raise GateRefused([refusal], gate="credit", overridable=True)
            changes.update(credit_override_reason=reason[:300], credit_overridden_by=actor)
        order = advance(order, to=OrderStatus.CONFIRMED, actor=actor, changes=changes,
                        reason=changes.get("credit_override_reason", ""))
        _notify_owner(order, actor, _("Order %(number)s was confirmed.") % {"number": order.number})
    return order


# --- shipments, receipt, invoices -----------------------------------------------------------------------


def shipped_quantities(order: Order) -> dict[int, int]:
    rows = (ShipmentLine.objects.filter(order_line__order=order).values("order_line_id")
            .annotate(total=Sum("quantity")))
    return {row["order_line_id"]: row["total"] for row in rows}


def record_shipment(*, actor: Any, order: Order, shipped_on: datetime.date, carrier: str,
                    lines: list[dict[str, Any]], tracking_number: str = "") -> Shipment:
    """Release goods (all or part of the order) with batch and expiry per line: the GSP sales record."""
    authorize(actor, "sales.ship_order")
    with transaction.atomic():
        order = _locked(order)
        if order.status not in (OrderStatus.CONFIRMED, OrderStatus.PARTIALLY_SHIPPED):
            raise TransitionNotAllowed(_("Only a confirmed order can be shipped; this one is %(status)s.")
                                       % {"status": order.get_status_display()})
        refusals = gsp_refusals(order, on=shipped_on)
        if refusals:
            raise GateRefused(refusals, gate="gsp")
        shipped = shipped_quantities(order)
        order_lines = {line.pk: line for line in order.lines.select_related("product")}
        errors, wanted = [], []
        for number, line in enumerate(lines, start=1):
            order_line = order_lines.get(getattr(line.get("order_line"), "pk", line.get("order_line")))
            quantity = line.get("quantity") or 0
            if order_line is None:
                errors.append(_("Line %(line)s: not a line of this order.") % {"line": number})
                continue
            if quantity <= 0:
                continue
            remaining = order_line.quantity - shipped.get(order_line.pk, 0)
            if quantity > remaining:
                errors.append(_("Line %(line)s: %(quantity)s is more than the %(remaining)s still to ship.")
                              % {"line": number, "quantity": quantity, "remaining": remaining})
            if not (line.get("batch_number") or "").strip():
                errors.append(_("Line %(line)s: enter the batch number.") % {"line": number})
            expiry = line.get("expiry_date")
            if expiry is None or expiry <= shipped_on:
                errors.append(_("Line %(line)s: goods past their expiry date are substandard drugs and cannot be "
                                "shipped (药品管理法 第九十八条).") % {"line": number})
            shipped[order_line.pk] = shipped.get(order_line.pk, 0) + quantity
            wanted.append((order_line, quantity, (line.get("batch_number") or "").strip(), expiry))
        if not wanted and not errors:
            errors.append(_("Enter a quantity on at least one line."))
        if errors:
            raise ValidationError({"lines": errors})
        shipment = audited_create(Shipment, actor=actor, order=order, shipped_on=shipped_on, carrier=carrier,
                                  tracking_number=tracking_number)
        for order_line, quantity, batch, expiry in wanted:
            audited_create(ShipmentLine, actor=actor, shipment=shipment, order_line=order_line, quantity=quantity,
                           batch_number=batch, expiry_date=expiry)
        complete = all(shipped.get(pk, 0) >= line.quantity for pk, line in order_lines.items())
        target = OrderStatus.SHIPPED if complete else OrderStatus.PARTIALLY_SHIPPED
        if target != order.status:
            order = advance(order, to=target, actor=actor)
        _notify_owner(order, actor, _("Order %(number)s: goods shipped (%(carrier)s %(tracking)s).")
                      % {"number": order.number, "carrier": carrier, "tracking": tracking_number})
    return shipment


def confirm_receipt(*, actor: Any, shipment: Shipment, received_on: datetime.date, received_by: str) -> Shipment:
    """The customer signed for a delivery; once every delivery of a fully shipped order is, it is received."""
    authorize(actor, "sales.change_order")
    with transaction.atomic():
        order = _locked(shipment.order)
        if shipment.received_on:
            raise TransitionNotAllowed(_("This delivery's receipt is already recorded."))
        if received_on < shipment.shipped_on:
            raise ValidationError({"received_on": _("Received before it was shipped?")})
        if not received_by.strip():
            raise ValidationError({"received_by": _("Enter who signed for it.")})
        shipment = audited_update(shipment, actor=actor, changes={"received_on": received_on,
                                                                  "received_by": received_by.strip()[:50]})
        purchases.record_delivery(shipment)
        if order.status == OrderStatus.SHIPPED and not order.shipments.filter(received_on__isnull=True).exists():
            order = advance(order, to=OrderStatus.RECEIVED, actor=actor)
            _notify_owner(order, actor, _("Order %(number)s was received.") % {"number": order.number})
            _invoice_if_covered(actor, order)
    return shipment


def invoiced_fen(order: Order) -> int:
    return order.invoices.aggregate(total=Sum("amount_fen"))["total"] or 0


def _invoice_if_covered(actor: Any, order: Order) -> Order:
    if order.status == OrderStatus.RECEIVED and invoiced_fen(order) >= order.total_fen:
        order = advance(order, to=OrderStatus.INVOICED, actor=actor, reason=_("Invoices cover the order"))
        _notify_owner(order, actor, _("Order %(number)s is fully invoiced.") % {"number": order.number})
    return order


def record_invoice(*, actor: Any, order: Order, number: str, issued_on: datetime.date, amount_fen: int,
                   kind: str, shipments: list[Shipment]) -> Invoice:
    """An invoice for shipped goods; invoices may not exceed the order; covering it makes a received order
    invoiced."""
    authorize(actor, "sales.invoice_order")
    with transaction.atomic():
        order = _locked(order)
        if order.status not in (OrderStatus.PARTIALLY_SHIPPED, OrderStatus.SHIPPED, OrderStatus.RECEIVED):
            raise TransitionNotAllowed(_("Invoices are recorded for shipped goods; this order is %(status)s.")
                                       % {"status": order.get_status_display()})
        errors: dict[str, list[str]] = {}
        if not shipments or any(shipment.order_id != order.pk for shipment in shipments):
            errors["shipments"] = [_("Choose the shipments of this order that the invoice covers.")]
        if amount_fen is None or amount_fen <= 0:
            errors["amount_fen"] = [_("Enter the invoice amount.")]
        elif invoiced_fen(order) + amount_fen > order.total_fen:
            errors["amount_fen"] = [_("Invoices would exceed the order total %(total)s (already invoiced %(done)s).")
                                    % {"total": format_yuan(order.total_fen), "done": format_yuan(invoiced_fen(order))}]
        if errors:
            raise ValidationError(errors)
        invoice = audited_create(Invoice, actor=actor, order=order, number=number.strip(), issued_on=issued_on,
                                 amount_fen=amount_fen, kind=kind)
        invoice.shipments.set(shipments)
        append([Change(AuditAction.UPDATE, invoice, {"shipments": [[], sorted(item.pk for item in shipments)]})],
               actor=actor)
        _invoice_if_covered(actor, order)
    return invoice


def complete_order(*, actor: Any, order: Order) -> Order:
    """Finance closes an invoiced order once it is paid: it leaves open receivables."""
    with transaction.atomic():
        order = advance(_locked(order), to=OrderStatus.COMPLETED, actor=actor)
        _notify_owner(order, actor, _("Order %(number)s is completed.") % {"number": order.number})
    return order
