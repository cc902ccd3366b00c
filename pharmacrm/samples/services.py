"""Sample services (seed 000 四.1 样品提供): lots, receipts, transfers, returns, adjustments, disbursements and
reconciliations. Pages, the API and demo data call these; nothing else writes sample records.

Stock rules:

* A rep's stock of a lot is the sum of the ledger (``StockMovement``); every movement is booked by ``_book``,
  which locks the rep × lot balance row (``select_for_update``; on SQLite the IMMEDIATE transaction already
  holds the write lock), refuses a movement that would take it below zero, appends the movement (audited) and
  moves the balance with ``F()`` in the same transaction. Of two disbursements of the last units, one wins.
* A receipt or a transfer counts for the recipient only when they confirm it; a transfer leaves the sender
  when sent and comes back if it is cancelled.
* Expired lots are neither dispatched, transferred nor handed out; they can still be returned or written off.

Disbursement rules (each refusal names its field):

* consent — the recipient needs a valid consent for the *academic and product information* purpose
  (``ConsentPurpose.ACADEMIC``), granted on or before the day and not withdrawn by then. Samples are product
  information, so that is the purpose that covers them; a consent to service follow-up, marketing events,
  surveys or greetings does not (PIPL 第十四条: consent is specific to its purpose). Any channel counts: the
  person signs for the sample in front of the rep.
* limit — ``samples.max_units_per_recipient`` units of one product per recipient within any
  ``samples.limit_period_days``-day window (``samples.policies``), over every rep's disbursements; the contact's row
  is locked while it is checked, so two reps cannot both use the last of the allowance.
* signature — a PNG drawn on screen, checked to be a real PNG of sane size, stored through ``core.uploads``.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import struct
import zlib
from collections.abc import Iterable
from typing import Any

import filetype
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, Q, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from pharmacrm.core import policy
from pharmacrm.core.audit import audited_create, audited_delete, audited_update, lock_chain_head
from pharmacrm.core.notifications import notify, notify_once_a_day
from pharmacrm.core.querysets import allow_bulk_writes
from pharmacrm.core.retry import retry_on_conflict
from pharmacrm.core.uploads import store_file
from pharmacrm.core.workflow import TransitionNotAllowed, advance
from pharmacrm.customers.choices import ConsentPurpose
from pharmacrm.customers.models import Consent, Contact, Institution
from pharmacrm.org.models import User
from pharmacrm.org.scope import authorize
from pharmacrm.sales.models import Product
from pharmacrm.samples.choices import MovementKind, ReconciliationStatus, TransferKind, TransferStatus
from pharmacrm.samples.models import (
    Disbursement,
    Reconciliation,
    ReconciliationLine,
    SampleLot,
    StockBalance,
    StockMovement,
    StockTransfer,
)

#: largest quantity in one movement (a typo guard; a rep's bag holds tens, not millions)
MAX_QUANTITY = 100_000
#: largest signature image accepted
MAX_SIGNATURE_BYTES = 512 * 1024
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"


# --- helpers -------------------------------------------------------------------------------------------------


def holds_samples(user: Any) -> bool:
    """Reps and academic reps hold and hand out samples (the roles with ``samples.add_disbursement``)."""
    return bool(user is not None and getattr(user, "is_active", False) and user.has_perm("samples.add_disbursement"))


def _require_holder(user: Any, field: str) -> None:
    if not holds_samples(user):
        raise ValidationError({field: _("This person does not hold samples (only reps and academic reps do).")})


def _check_quantity(quantity: Any, field: str = "quantity") -> int:
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0 or quantity > MAX_QUANTITY:
        raise ValidationError({field: _("Enter a whole number from 1 to %(max)s.") % {"max": MAX_QUANTITY}})
    return quantity


def _expired(lot: SampleLot, on: datetime.date | None = None) -> str | None:
    day = on or policy.today()
    if lot.expiry_date < day:
        return _("Lot %(lot)s expired on %(date)s: expired samples cannot be handed out or sent on "
                 "(药品管理法 第九十八条).") % {"lot": lot.batch_number, "date": f"{lot.expiry_date:%Y-%m-%d}"}
    return None


def _lock_balance(holder: Any, lot: SampleLot) -> StockBalance:
    balance = StockBalance.objects.select_for_update().filter(holder=holder, lot=lot).first()
    if balance is None:
        with allow_bulk_writes():  # derived row; ignore_conflicts: a concurrent first movement may have made it
            StockBalance.objects.bulk_create([StockBalance(holder=holder, lot=lot)], ignore_conflicts=True)
        balance = StockBalance.objects.select_for_update().get(holder=holder, lot=lot)
    return balance


def _book(*, actor: Any, holder: Any, lot: SampleLot, kind: str, quantity: int, reason: str = "",
          field: str = "quantity", **links: Any) -> StockMovement:
    """Append one ledger row and move the balance with it; refuses a movement that would go below zero.

    Runs inside the caller's transaction (the caller's ``atomic`` rolls back everything on a refusal).
    The audit chain is locked before the balance, the order of callers that audit something first, so two
    bookings of one balance cannot deadlock on PostgreSQL.
    """
    lock_chain_head()
    balance = _lock_balance(holder, lot)
    if balance.quantity + quantity < 0:
        raise ValidationError({field: _("Only %(available)s of lot %(lot)s in stock: this would take the stock "
                                        "below zero.") % {"available": balance.quantity, "lot": lot.batch_number}})
    movement = audited_create(StockMovement, actor=actor, holder=holder, lot=lot, kind=kind, quantity=quantity,
                              reason=reason[:300], created_by=actor if getattr(actor, "pk", None) else None,
                              **links)
    StockBalance.objects.filter(pk=balance.pk).update_derived(quantity=F("quantity") + quantity)
    return movement


def stock_of(holder: Any, lot: SampleLot) -> int:
    return StockBalance.objects.filter(holder=holder, lot=lot).values_list("quantity", flat=True).first() or 0


def ledger_stock(holder: Any) -> dict[int, int]:
    """What the ledger says the rep holds, per lot id (lots summing to zero left out)."""
    rows = (StockMovement.objects.filter(holder=holder).values("lot_id").annotate(total=Sum("quantity"))
            .order_by())
    return {row["lot_id"]: row["total"] for row in rows if row["total"]}


def verify_balances() -> list[tuple[int, int, int, int]]:
    """Balances that disagree with the ledger: (holder id, lot id, balance, ledger sum); empty when all agree."""
    ledger = {(row["holder_id"], row["lot_id"]): row["total"] for row in
              StockMovement.objects.values("holder_id", "lot_id").annotate(total=Sum("quantity")).order_by()}
    wrong = []
    for holder_id, lot_id, quantity in StockBalance.objects.values_list("holder_id", "lot_id", "quantity"):
        if ledger.pop((holder_id, lot_id), 0) != quantity:
            wrong.append((holder_id, lot_id, quantity, ledger.get((holder_id, lot_id), 0)))
    wrong += [(holder_id, lot_id, 0, total) for (holder_id, lot_id), total in ledger.items() if total]
    return wrong


def _visible(model: type, actor: Any, obj: Any) -> None:
    if not model._default_manager.visible_to(actor).filter(pk=obj.pk).exists():
        raise PermissionDenied("not visible")


# --- lots ----------------------------------------------------------------------------------------------------


def create_lot(*, actor: Any, product: Product, batch_number: str, expiry_date: datetime.date,
               notes: str = "") -> SampleLot:
    """Head office registers a batch of samples (GSP: batch and expiry follow the goods)."""
    authorize(actor, "samples.add_samplelot")
    errors: dict[str, list[str]] = {}
    batch_number = (batch_number or "").strip()
    if not batch_number:
        errors["batch_number"] = [_("Enter the batch number.")]
    elif SampleLot.objects.filter(product=product, batch_number=batch_number).exists():
        errors["batch_number"] = [_("This product already has a lot with this batch number.")]
    if expiry_date is None or expiry_date < policy.today():
        errors["expiry_date"] = [_("This lot has already expired.")]
    if errors:
        raise ValidationError(errors)
    return audited_create(SampleLot, actor=actor, product=product, batch_number=batch_number,
                          expiry_date=expiry_date, notes=(notes or "").strip())


def update_lot(*, actor: Any, lot: SampleLot, changes: dict[str, Any], expected_version: int | None = None) -> SampleLot:
    authorize(actor, "samples.change_samplelot")
    allowed = {key: value for key, value in changes.items() if key in ("batch_number", "expiry_date", "notes")}
    for key in ("batch_number", "notes"):
        if isinstance(allowed.get(key), str):
            allowed[key] = allowed[key].strip()
    return audited_update(lot, actor=actor, changes=allowed, expected_version=expected_version)


# --- receipts and transfers ----------------------------------------------------------------------------------


def dispatch_receipt(*, actor: Any, lot: SampleLot, to_holder: Any, quantity: int, note: str = "") -> StockTransfer:
    """Head office sends samples to a rep; they count once the rep confirms receipt."""
    authorize(actor, "samples.dispatch_samples")
    _check_quantity(quantity)
    _require_holder(to_holder, "to_holder")
    refusal = _expired(lot)
    if refusal:
        raise ValidationError({"lot": [refusal]})
    with transaction.atomic():
        transfer = audited_create(StockTransfer, actor=actor, kind=TransferKind.RECEIPT, lot=lot, quantity=quantity,
                                  to_holder=to_holder, note=(note or "").strip()[:200])
        notify(to_holder, _("Samples sent to you: %(lot)s × %(quantity)s. Confirm when you have them.")
               % {"lot": lot, "quantity": quantity}, url=transfer.get_absolute_url())
    return transfer


@retry_on_conflict
def create_transfer(*, actor: Any, lot: SampleLot, to_holder: Any, quantity: int, note: str = "") -> StockTransfer:
    """A rep passes samples to a colleague: they leave the sender now and reach the colleague on confirmation."""
    authorize(actor, "samples.add_stocktransfer")
    _require_holder(actor, "lot")
    _check_quantity(quantity)
    _require_holder(to_holder, "to_holder")
    if to_holder.pk == actor.pk:
        raise ValidationError({"to_holder": _("Choose a colleague, not yourself.")})
    refusal = _expired(lot)
    if refusal:
        raise ValidationError({"lot": [refusal]})
    with transaction.atomic():
        transfer = audited_create(StockTransfer, actor=actor, kind=TransferKind.TRANSFER, lot=lot, quantity=quantity,
                                  from_holder=actor, to_holder=to_holder, note=(note or "").strip()[:200])
        _book(actor=actor, holder=actor, lot=lot, kind=MovementKind.TRANSFER_OUT, quantity=-quantity,
              transfer=transfer)
        notify(to_holder, _("%(sender)s is sending you samples: %(lot)s × %(quantity)s. Confirm when you have them.")
               % {"sender": actor.get_full_name(), "lot": lot, "quantity": quantity}, url=transfer.get_absolute_url())
    return transfer


def _locked_transfer(transfer: StockTransfer) -> StockTransfer:
    current = StockTransfer.objects.select_for_update().get(pk=transfer.pk)
    if current.status != TransferStatus.PENDING:
        raise TransitionNotAllowed(_("This has already been %(status)s.") % {"status": current.get_status_display()})
    return current


@retry_on_conflict
def confirm_transfer(*, actor: Any, transfer: StockTransfer) -> StockTransfer:
    """The recipient has the goods in hand: only now do they count in their stock."""
    with transaction.atomic():
        transfer = _locked_transfer(transfer)
        if transfer.to_holder_id != getattr(actor, "pk", None):
            raise PermissionDenied(_("Only the recipient can confirm receipt."))
        transfer = advance(transfer, to=TransferStatus.CONFIRMED, actor=actor,
                           changes={"confirmed_at": timezone.now()})
        kind = MovementKind.RECEIPT if transfer.kind == TransferKind.RECEIPT else MovementKind.TRANSFER_IN
        _book(actor=actor, holder=actor, lot=transfer.lot, kind=kind, quantity=transfer.quantity, transfer=transfer)
    return transfer


@retry_on_conflict
def cancel_transfer(*, actor: Any, transfer: StockTransfer, reason: str) -> StockTransfer:
    """The sender withdraws it or the recipient refuses it (with a reason); a transfer's units go back."""
    with transaction.atomic():
        transfer = _locked_transfer(transfer)
        may = getattr(actor, "pk", None) in (transfer.to_holder_id, transfer.from_holder_id) or (
            transfer.kind == TransferKind.RECEIPT and actor.has_perm("samples.dispatch_samples"))
        if not may:
            raise PermissionDenied(_("Only the sender or the recipient can cancel this."))
        reason = (reason or "").strip()
        transfer = advance(transfer, to=TransferStatus.CANCELLED, actor=actor, reason=reason,
                           changes={"status_reason": reason[:300]})
        if transfer.kind == TransferKind.TRANSFER:
            _book(actor=actor, holder=transfer.from_holder, lot=transfer.lot, kind=MovementKind.TRANSFER_REVERSAL,
                  quantity=transfer.quantity, reason=reason, transfer=transfer)
        other = transfer.from_holder if actor.pk == transfer.to_holder_id else transfer.to_holder
        if other is not None:
            notify(other, _("Samples %(lot)s × %(quantity)s: cancelled (%(reason)s).")
                   % {"lot": transfer.lot, "quantity": transfer.quantity, "reason": reason[:100]},
                   url=transfer.get_absolute_url())
    return transfer


# --- returns and adjustments ---------------------------------------------------------------------------------


@retry_on_conflict
def return_stock(*, actor: Any, lot: SampleLot, quantity: int, reason: str = "") -> StockMovement:
    """A rep sends samples back to head office (expired, unwanted, leaving the company)."""
    authorize(actor, "samples.add_stockmovement")
    _require_holder(actor, "lot")
    _check_quantity(quantity)
    with transaction.atomic():
        return _book(actor=actor, holder=actor, lot=lot, kind=MovementKind.RETURN, quantity=-quantity,
                     reason=(reason or "").strip())


@retry_on_conflict
def adjust_stock(*, actor: Any, holder: Any, lot: SampleLot, quantity: int, reason: str) -> StockMovement:
    """Correct a rep's stock (broken, lost, found) with a reason. A rep may write their own stock down; adding
    stock, or touching someone else's, is head office's (``samples.change_stockbalance``)."""
    authorize(actor, "samples.add_stockmovement")
    errors: dict[str, list[str]] = {}
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity == 0 or abs(quantity) > MAX_QUANTITY:
        errors["quantity"] = [_("Enter a whole number other than 0, at most %(max)s either way.")
                              % {"max": MAX_QUANTITY}]
    if not (reason or "").strip():
        errors["reason"] = [_("A reason is required for an adjustment.")]
    if errors:
        raise ValidationError(errors)
    if (holder.pk != actor.pk or quantity > 0) and not actor.has_perm("samples.change_stockbalance"):
        raise ValidationError({"quantity": _("You can only write your own stock down; head office adds stock.")})
    _require_holder(holder, "holder")
    with transaction.atomic():
        return _book(actor=actor, holder=holder, lot=lot, kind=MovementKind.ADJUSTMENT, quantity=quantity,
                     reason=reason.strip())


# --- disbursements -------------------------------------------------------------------------------------------


def clean_signature(data: bytes | str | None) -> bytes:
    """The recipient's signature as PNG bytes (raw, base64 or a ``data:image/png;base64,`` URL), checked."""
    if not data:
        raise ValidationError({"signature": _("The recipient must sign on screen.")})
    invalid = ValidationError({"signature": _("The signature is not a valid PNG image. Ask the recipient to sign "
                                              "again.")})
    if isinstance(data, str):
        text = data.strip()
        if text.startswith("data:"):
            header, _comma, text = text.partition(",")
            if header.lower() != "data:image/png;base64":
                raise invalid
        text = "".join(text.split())  # base64 wrapped over lines is still base64
        if len(text) > MAX_SIGNATURE_BYTES * 4 // 3 + 4:
            raise ValidationError({"signature": _("The signature image is too large.")})
        try:
            data = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise invalid from None
    if len(data) > MAX_SIGNATURE_BYTES:
        raise ValidationError({"signature": _("The signature image is too large.")})
    if len(data) < 57 or not data.startswith(PNG_MAGIC) or data[12:16] != b"IHDR" or not data.endswith(PNG_END):
        raise invalid
    if zlib.crc32(data[12:29]) != struct.unpack(">I", data[29:33])[0]:
        raise invalid
    kind = filetype.guess(data[:8192])
    if kind is None or kind.mime != "image/png":
        raise invalid
    width, height = struct.unpack(">II", data[16:24])
    if not (50 <= width <= 4000 and 20 <= height <= 4000):
        raise ValidationError({"signature": _("The signature image has an odd size (%(width)s×%(height)s).")
                               % {"width": width, "height": height}})
    return data


def consent_refusal(contact: Contact, on: datetime.date) -> str | None:
    valid = Consent.objects.filter(contact=contact, purpose=ConsentPurpose.ACADEMIC, granted_on__lte=on).filter(
        Q(withdrawn_on__isnull=True) | Q(withdrawn_on__gt=on))
    if valid.exists():
        return None
    return _("%(name)s has no valid consent to academic and product information: record the consent before "
             "handing out samples (PIPL 第十四条).") % {"name": contact.name}


def used_allowance(contact: Contact, product: Product, on: datetime.datetime) -> int:
    """Units of the product the contact received (from any rep) within one limit period either side of ``on``.

    Both sides, so that a disbursement recorded late (back-dated) cannot slip under a limit that later ones
    already used: every rolling window that contains the new disbursement stays within the limit.
    """
    days = int(policy.get("samples.limit_period_days", on=timezone.localtime(on, policy.CHINA).date()))
    period = datetime.timedelta(days=days)
    return Disbursement.objects.filter(contact=contact, lot__product=product, disbursed_at__gt=on - period,
                                       disbursed_at__lt=on + period).aggregate(total=Sum("quantity"))["total"] or 0


@retry_on_conflict
def disburse(*, actor: Any, contact: Contact, lot: SampleLot, quantity: int, place: str,
             signature: bytes | str | None, institution: Institution | None = None,
             disbursed_at: datetime.datetime | None = None, notes: str = "") -> Disbursement:
    """Hand samples to a contact the rep covers, signed for on screen (seed 000 四.1 "in line with company rules").

    Refused, each on its field: no signature, an expired lot, no valid academic consent, the per-recipient limit,
    stock that would go below zero; a contact out of the rep's scope is "not found".
    """
    authorize(actor, "samples.add_disbursement")
    _require_holder(actor, "lot")
    if not Contact.objects.visible_to(actor).filter(pk=contact.pk).exists():
        raise ValidationError({"contact": _("Not found.")})
    institution = institution or contact.institution
    now = timezone.now()
    disbursed_at = disbursed_at or now
    day = timezone.localtime(disbursed_at, policy.CHINA).date()
    errors: dict[str, list[str]] = {}

    def refuse(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    works_there = Contact.objects.filter(pk=contact.pk).working_at(institution).exists()
    if not works_there or not Institution.objects.visible_to(actor).filter(pk=institution.pk).exists():
        refuse("institution", _("%(name)s does not work at this institution.") % {"name": contact.name})
    try:
        _check_quantity(quantity)
    except ValidationError as error:
        refuse("quantity", error.message_dict["quantity"][0])
    if not (place or "").strip():
        refuse("place", _("Enter where the samples were handed over."))
    if disbursed_at > now + datetime.timedelta(minutes=5):
        refuse("disbursed_at", _("The time cannot be in the future."))
    expired = _expired(lot, day)
    if expired:
        refuse("lot", expired)
    consent = consent_refusal(contact, day)
    if consent:
        refuse("contact", consent)
    png = None
    try:
        png = clean_signature(signature)
    except ValidationError as error:
        refuse("signature", error.message_dict["signature"][0])
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        Contact._base_manager.select_for_update().filter(pk=contact.pk).first()  # one recipient's allowance at a time
        limit = int(policy.get("samples.max_units_per_recipient", on=day))
        used = used_allowance(contact, lot.product, disbursed_at)
        if used + quantity > limit:
            raise ValidationError({"quantity": _(
                "%(name)s has received %(used)s of %(product)s in the last %(days)s days; the company limit is "
                "%(limit)s per recipient (samples policy).") % {
                "name": contact.name, "used": used, "product": lot.product.generic_name, "limit": limit,
                "days": policy.get("samples.limit_period_days", on=day)}})
        def signed(row: Disbursement) -> dict[str, Any]:  # the signature file is attached to the new row
            return {"signature": store_file(actor=actor, content=ContentFile(png, name="signature.png"),
                                            name="signature.png", attach_to=row, mime_type="image/png",
                                            description=_("Recipient's signature"))}

        disbursement = audited_create(Disbursement, actor=actor, holder=actor, lot=lot, quantity=quantity,
                                      contact=contact, institution=institution, disbursed_at=disbursed_at,
                                      place=place.strip()[:200], notes=(notes or "").strip()[:300], complete=signed)
        _book(actor=actor, holder=actor, lot=lot, kind=MovementKind.DISBURSEMENT, quantity=-quantity,
              disbursement=disbursement)
    return disbursement


# --- reconciliation ------------------------------------------------------------------------------------------


def _reconciliation_lines(holder: Any, counts: Iterable[dict[str, Any]]) -> list[ReconciliationLine]:
    expected = ledger_stock(holder)
    lots = {lot.pk: lot for lot in SampleLot.objects.filter(pk__in=list(expected))}
    errors: list[str] = []
    lines: dict[int, ReconciliationLine] = {}
    for count in counts:
        lot, counted = count.get("lot"), count.get("counted")
        if lot is None:
            continue
        label = lot.batch_number
        if lot.pk in lines:
            errors.append(_("Lot %(lot)s is counted twice.") % {"lot": label})
            continue
        if not isinstance(counted, int) or isinstance(counted, bool) or counted < 0 or counted > MAX_QUANTITY:
            errors.append(_("Lot %(lot)s: enter the counted quantity (0 to %(max)s).")
                          % {"lot": label, "max": MAX_QUANTITY})
            continue
        reason = (count.get("reason") or "").strip()
        line = ReconciliationLine(lot=lot, expected=expected.get(lot.pk, 0), counted=counted, reason=reason[:300])
        if line.difference and not reason:
            errors.append(_("Lot %(lot)s: expected %(expected)s, counted %(counted)s — give a reason for the "
                            "difference.") % {"lot": label, "expected": line.expected, "counted": counted})
        lines[lot.pk] = line
    for lot_id, quantity in expected.items():
        if lot_id not in lines:
            errors.append(_("Lot %(lot)s: count it too (the ledger says %(expected)s).")
                          % {"lot": lots[lot_id].batch_number, "expected": quantity})
    if not lines and not errors:
        errors.append(_("You hold no samples and counted none: there is nothing to reconcile."))
    if errors:
        raise ValidationError({"lines": errors})
    return list(lines.values())


def submit_reconciliation(*, actor: Any, counts: list[dict[str, Any]], counted_on: datetime.date | None = None,
                          note: str = "", reconciliation: Reconciliation | None = None) -> Reconciliation:
    """The rep's count of every lot they hold (``counts``: lot, counted, reason), against the ledger.

    A new count, or a recount of one the manager sent back. Differences need a reason.
    """
    authorize(actor, "samples.add_reconciliation")
    _require_holder(actor, "lines")
    counted_on = counted_on or policy.today()
    if counted_on > policy.today():
        raise ValidationError({"counted_on": _("The date cannot be in the future.")})
    with transaction.atomic():
        if reconciliation is not None:
            reconciliation = Reconciliation.objects.select_for_update().get(pk=reconciliation.pk)
            if reconciliation.holder_id != actor.pk:
                raise PermissionDenied(_("Only the rep who counted can recount."))
            if reconciliation.status != ReconciliationStatus.SENT_BACK:
                raise TransitionNotAllowed(_("Only a reconciliation sent back can be counted again."))
        elif Reconciliation.objects.filter(holder=actor, status__in=[ReconciliationStatus.SUBMITTED,
                                                                     ReconciliationStatus.SENT_BACK]).exists():
            raise ValidationError({"__all__": _("You have a reconciliation still open: finish that one first.")})
        lines = _reconciliation_lines(actor, counts)
        if reconciliation is None:
            reconciliation = audited_create(Reconciliation, actor=actor, holder=actor, counted_on=counted_on,
                                            note=(note or "").strip()[:300])
        else:
            for old in list(reconciliation.lines.all()):
                audited_delete(old, actor=actor, reason=_("Counted again"))
            reconciliation = advance(reconciliation, to=ReconciliationStatus.SUBMITTED, actor=actor, changes={
                "counted_on": counted_on, "note": (note or "").strip()[:300], "status_reason": ""})
        for line in lines:
            audited_create(ReconciliationLine, actor=actor, reconciliation=reconciliation, lot=line.lot,
                           expected=line.expected, counted=line.counted, reason=line.reason)
        manager = actor.team.manager if actor.team_id and actor.team.manager_id else None
        if manager is not None and manager.pk != actor.pk:
            notify(manager, _("%(rep)s submitted sample reconciliation %(number)s.")
                   % {"rep": actor.get_full_name(), "number": reconciliation.number},
                   url=reconciliation.get_absolute_url())
    return reconciliation


def reconciliation_due_on(holder: Any) -> datetime.date | None:
    """When the rep's next count is due: ``samples.reconciliation_interval_days`` after their last approved count;
    today when they hold samples and never had a count approved; None when they hold nothing and never counted."""
    last = (Reconciliation.objects.filter(holder=holder, status=ReconciliationStatus.APPROVED)
            .order_by("-counted_on").values_list("counted_on", flat=True).first())
    if last is None:
        return policy.today() if StockBalance.objects.filter(holder=holder, quantity__gt=0).exists() else None
    return last + datetime.timedelta(days=int(policy.get("samples.reconciliation_interval_days")))


def send_count_reminders(on: datetime.date | None = None) -> int:
    """Remind each rep holding samples when their stock count falls due and every 7 days while it is
    overdue, their manager too once it is overdue; returns reps reminded.

    A rep whose count awaits approval is not reminded (the manager already has it). The day decides, once: a
    second run the same day sends nothing more, and a missed morning skips that day's reminder.
    """
    on = on or policy.today()
    holders = (StockBalance.objects.filter(quantity__gt=0, holder__is_active=True).values_list("holder", flat=True)
               .distinct())
    waiting = set(Reconciliation.objects.filter(status=ReconciliationStatus.SUBMITTED).values_list("holder", flat=True))
    sent = 0
    for holder in User.objects.filter(pk__in=holders).exclude(pk__in=waiting).select_related("team__manager"):
        due = reconciliation_due_on(holder)
        if due is None or due > on or (on - due).days % 7:
            continue
        url = reverse("samples:reconciliation_create")
        if due == on:
            notify_once_a_day(holder, _("Your sample stock count is due today."), url=url, on=on)
        else:
            late = _("Sample stock count overdue since %(date)s.") % {"date": due.isoformat()}
            notify_once_a_day(holder, late, url=url, on=on)
            manager = holder.team.manager if holder.team_id else None
            if manager is not None and manager.pk != holder.pk and manager.is_active:
                notify_once_a_day(manager, f"{holder.get_full_name()}: {late}",
                                  url=reverse("samples:reconciliation_list"), on=on)
        sent += 1
    return sent


def _decidable(actor: Any, reconciliation: Reconciliation) -> Reconciliation:
    authorize(actor, "samples.approve_reconciliation")
    _visible(Reconciliation, actor, reconciliation)
    current = Reconciliation.objects.select_for_update().get(pk=reconciliation.pk)
    if current.holder_id == actor.pk:
        raise PermissionDenied(_("You cannot decide on your own reconciliation."))
    if current.status != ReconciliationStatus.SUBMITTED:
        raise TransitionNotAllowed(_("Only a reconciliation awaiting approval can be decided; this one is "
                                     "%(status)s.") % {"status": current.get_status_display()})
    return current


def approve_reconciliation(*, actor: Any, reconciliation: Reconciliation) -> Reconciliation:
    """The manager accepts the count: each difference is booked as a reconciliation movement with its reason."""
    with transaction.atomic():
        reconciliation = _decidable(actor, reconciliation)
        for line in reconciliation.lines.select_related("lot"):
            if line.difference:
                _book(actor=actor, holder=reconciliation.holder, lot=line.lot, kind=MovementKind.RECONCILIATION,
                      quantity=line.difference, reason=line.reason, field="__all__", reconciliation=reconciliation)
        reconciliation = advance(reconciliation, to=ReconciliationStatus.APPROVED, actor=actor,
                                 changes={"decided_by": actor, "decided_at": timezone.now()})
        notify(reconciliation.holder, _("Sample reconciliation %(number)s was approved.")
               % {"number": reconciliation.number}, url=reconciliation.get_absolute_url())
    return reconciliation


def send_back_reconciliation(*, actor: Any, reconciliation: Reconciliation, reason: str) -> Reconciliation:
    """The manager asks for a recount, saying why; nothing is booked."""
    with transaction.atomic():
        reconciliation = _decidable(actor, reconciliation)
        reason = (reason or "").strip()
        reconciliation = advance(reconciliation, to=ReconciliationStatus.SENT_BACK, actor=actor, reason=reason,
                                 changes={"status_reason": reason[:300], "decided_by": actor,
                                          "decided_at": timezone.now()})
        notify(reconciliation.holder, _("Sample reconciliation %(number)s was sent back: %(reason)s")
               % {"number": reconciliation.number, "reason": reason[:100]}, url=reconciliation.get_absolute_url())
    return reconciliation
