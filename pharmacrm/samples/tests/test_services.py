"""Sample rules: stock never negative, expiry, consent, per-recipient limit, signature, receipts, transfers,
returns, adjustments and reconciliation."""

from __future__ import annotations

import datetime
import threading
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import close_old_connections

from pharmacrm.core import policy
from pharmacrm.core.models import AuditEntry, Notification, StoredFile
from pharmacrm.core.policy import today
from pharmacrm.core.workflow import TransitionNotAllowed
from pharmacrm.customers import services as customers
from pharmacrm.samples import services
from pharmacrm.samples.choices import MovementKind, ReconciliationStatus, TransferStatus
from pharmacrm.samples.models import Disbursement, StockBalance, StockMovement
from pharmacrm.samples.tests.factories import data_url, give, make_world, png

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org: dict[str, Any]) -> dict[str, Any]:
    return make_world(org)


def _refused(field: str, call: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(ValidationError) as refused:
        call(*args, **kwargs)
    assert field in refused.value.message_dict, refused.value.message_dict
    return " ".join(refused.value.message_dict[field])


def test_receipt_counts_only_after_the_rep_confirms(org: dict[str, Any], world: dict[str, Any]) -> None:
    rep, lot = world["rep"], world["lot"]
    receipt = services.dispatch_receipt(actor=world["marketing"], lot=lot, to_holder=rep, quantity=5)
    assert services.stock_of(rep, lot) == 20  # on its way: not yet counted
    _refused("quantity", give, world, 21)
    with pytest.raises(PermissionDenied):  # only the recipient confirms
        services.confirm_transfer(actor=org["rep_west"], transfer=receipt)
    receipt = services.confirm_transfer(actor=rep, transfer=receipt)
    assert receipt.status == TransferStatus.CONFIRMED and services.stock_of(rep, lot) == 25
    with pytest.raises(TransitionNotAllowed):
        services.confirm_transfer(actor=rep, transfer=receipt)
    assert services.stock_of(rep, lot) == 25
    with pytest.raises(PermissionDenied):  # reps do not dispatch from head office
        services.dispatch_receipt(actor=rep, lot=lot, to_holder=rep, quantity=5)
    _refused("to_holder", services.dispatch_receipt, actor=world["marketing"], lot=lot, to_holder=org["manager_east"],
             quantity=5)  # a manager does not hold samples
    _refused("lot", services.dispatch_receipt, actor=world["marketing"], lot=world["expired"], to_holder=rep,
             quantity=5)


def test_negative_stock_is_refused_and_nothing_is_written(org: dict[str, Any], world: dict[str, Any]) -> None:
    policy.set_value(actor=org["admin"], key="samples.max_units_per_recipient", value=100, effective_from=today(),
                     reason="test")
    message = _refused("quantity", give, world, 21)
    assert "20" in message and "低于零" in message
    assert not Disbursement.objects.exists() and not StoredFile.objects.filter(original_name="signature.png").exists()
    give(world, 10, signature=data_url())
    assert services.stock_of(world["rep"], world["lot"]) == 10
    assert services.verify_balances() == []


def test_expired_lot_is_refused(world: dict[str, Any]) -> None:
    services.adjust_stock(actor=world["marketing"], holder=world["rep"], lot=world["expired"], quantity=3,
                          reason="盘点发现")
    assert "过期" in _refused("lot", give, world, 1, lot=world["expired"])


def test_no_valid_consent_is_refused(org: dict[str, Any], world: dict[str, Any]) -> None:
    other = customers.create_contact(actor=org["steward"], institution=org["institution_east"], name="李医生")
    customers.record_consent(actor=org["steward"], contact=other, channel="wechat", purpose="care",
                             granted_on=today(), evidence="微信")
    assert "同意" in _refused("contact", give, world, 1, contact=other)  # greetings do not cover samples
    consent = customers.record_consent(actor=org["steward"], contact=other, channel="visit", purpose="academic",
                                       granted_on=today(), evidence="同意书")
    give(world, 1, contact=other)
    customers.withdraw_consent(actor=org["steward"], consent=consent, withdrawn_on=today())
    _refused("contact", give, world, 1, contact=other)


def test_per_recipient_limit_follows_the_policy(org: dict[str, Any], world: dict[str, Any]) -> None:
    give(world, 8)
    message = _refused("quantity", give, world, 3)  # default: 10 per product per 90 days
    assert "8" in message and "10" in message
    policy.set_value(actor=org["admin"], key="samples.max_units_per_recipient", value=12, effective_from=today(),
                     reason="新学术推广季")
    give(world, 3)
    assert Disbursement.objects.count() == 2
    policy.set_value(actor=org["admin"], key="samples.limit_period_days", value=1, effective_from=today(),
                     reason="test")
    _refused("quantity", give, world, 2)  # still 11 within the last day
    # the limit counts every rep's disbursements to the recipient
    academic = world["academic"]
    customers.update_institution(actor=org["steward"], institution=org["institution_east"],
                                 changes={"academic_owner": academic})
    services.adjust_stock(actor=world["marketing"], holder=academic, lot=world["lot"], quantity=5, reason="补货")
    _refused("quantity", give, world, 2, actor=academic)
    give(world, 1, actor=academic)


def test_signature_is_required_and_must_be_a_real_png(world: dict[str, Any]) -> None:
    assert "签" in _refused("signature", give, world, 1, signature="")
    for bad in (b"GIF89a" + b"\0" * 100, png()[:-12], "data:image/svg+xml;base64,PHN2Zz4=", "not base64!",
                png(width=10, height=5), b"\x89PNG\r\n\x1a\n" + b"\0" * 100):
        _refused("signature", give, world, 1, signature=bad)
    _refused("signature", give, world, 1, signature=b"\x89PNG" + b"\0" * (services.MAX_SIGNATURE_BYTES + 1))
    assert not Disbursement.objects.exists()
    disbursement = give(world, 2)
    assert disbursement.signature.mime_type == "image/png" and disbursement.signature.file.read() == png()
    movement = StockMovement.objects.get(disbursement=disbursement)
    assert movement.kind == MovementKind.DISBURSEMENT and movement.quantity == -2


def test_contact_out_of_scope_or_wrong_institution(org: dict[str, Any], world: dict[str, Any]) -> None:
    west_doctor = customers.create_contact(actor=org["steward"], institution=org["institution_west"], name="张医生")
    customers.record_consent(actor=org["steward"], contact=west_doctor, channel="visit", purpose="academic",
                             granted_on=today(), evidence="同意书")
    _refused("contact", give, world, 1, contact=west_doctor)
    _refused("institution", give, world, 1, institution=org["institution_west"])


def test_transfer_between_reps(org: dict[str, Any], world: dict[str, Any]) -> None:
    rep, academic, lot = world["rep"], world["academic"], world["lot"]
    transfer = services.create_transfer(actor=rep, lot=lot, to_holder=academic, quantity=6)
    assert services.stock_of(rep, lot) == 14 and services.stock_of(academic, lot) == 0  # in transit
    _refused("quantity", services.create_transfer, actor=rep, lot=lot, to_holder=academic, quantity=15)
    _refused("to_holder", services.create_transfer, actor=rep, lot=lot, to_holder=rep, quantity=1)
    services.confirm_transfer(actor=academic, transfer=transfer)
    assert services.stock_of(academic, lot) == 6
    back = services.create_transfer(actor=academic, lot=lot, to_holder=rep, quantity=2)
    with pytest.raises(ValidationError):
        services.cancel_transfer(actor=rep, transfer=back, reason="")  # a reason is required
    services.cancel_transfer(actor=rep, transfer=back, reason="不需要")
    assert services.stock_of(academic, lot) == 6 and services.stock_of(rep, lot) == 14
    assert services.verify_balances() == []


def test_return_and_adjustment_need_what_they_need(org: dict[str, Any], world: dict[str, Any]) -> None:
    rep, lot = world["rep"], world["lot"]
    services.return_stock(actor=rep, lot=lot, quantity=5, reason="季度退回")
    assert services.stock_of(rep, lot) == 15
    _refused("quantity", services.return_stock, actor=rep, lot=lot, quantity=16)
    assert "原因" in _refused("reason", services.adjust_stock, actor=rep, holder=rep, lot=lot, quantity=-1, reason=" ")
    services.adjust_stock(actor=rep, holder=rep, lot=lot, quantity=-1, reason="包装破损")
    _refused("quantity", services.adjust_stock, actor=rep, holder=rep, lot=lot, quantity=5, reason="多出来了")
    services.adjust_stock(actor=world["marketing"], holder=rep, lot=lot, quantity=5, reason="补发")
    assert services.stock_of(rep, lot) == 19
    kinds = list(StockMovement.objects.filter(holder=rep).order_by("id").values_list("kind", "quantity", "reason"))
    assert kinds[-3:] == [("return", -5, "季度退回"), ("adjustment", -1, "包装破损"), ("adjustment", 5, "补发")]
    assert AuditEntry.objects.filter(content_type__model="stockmovement").count() == len(kinds)
    with pytest.raises(Exception):  # the ledger is never edited
        StockMovement.objects.filter(holder=rep).update(quantity=100)


def test_reconciliation_with_a_difference_needs_a_reason_and_approval(org: dict[str, Any],
                                                                      world: dict[str, Any]) -> None:
    rep, lot, manager = world["rep"], world["lot"], org["manager_east"]
    give(world, 2)  # 18 left
    assert "原因" in " ".join(_refused("lines", services.submit_reconciliation, actor=rep,
                                       counts=[{"lot": lot, "counted": 17}]).split())
    _refused("lines", services.submit_reconciliation, actor=rep, counts=[])  # every lot held must be counted
    reconciliation = services.submit_reconciliation(actor=rep, counts=[{"lot": lot, "counted": 17,
                                                                         "reason": "一盒丢失"}])
    line = reconciliation.lines.get()
    assert (line.expected, line.counted, line.difference) == (18, 17, -1)
    assert services.stock_of(rep, lot) == 18  # nothing booked before approval
    with pytest.raises(PermissionDenied):
        services.approve_reconciliation(actor=rep, reconciliation=reconciliation)
    with pytest.raises(PermissionDenied):  # another team's manager would not see it; a rep cannot approve
        services.approve_reconciliation(actor=org["rep_west"], reconciliation=reconciliation)
    reconciliation = services.send_back_reconciliation(actor=manager, reconciliation=reconciliation, reason="请复盘")
    assert reconciliation.status == ReconciliationStatus.SENT_BACK
    reconciliation = services.submit_reconciliation(actor=rep, reconciliation=reconciliation, counts=[
        {"lot": lot, "counted": 16, "reason": "两盒丢失"}])
    assert reconciliation.status == ReconciliationStatus.SUBMITTED and reconciliation.lines.get().counted == 16
    reconciliation = services.approve_reconciliation(actor=manager, reconciliation=reconciliation)
    assert reconciliation.status == ReconciliationStatus.APPROVED and reconciliation.decided_by == manager
    assert services.stock_of(rep, lot) == 16
    booked = StockMovement.objects.get(reconciliation=reconciliation)
    assert (booked.kind, booked.quantity, booked.reason) == (MovementKind.RECONCILIATION, -2, "两盒丢失")
    with pytest.raises(TransitionNotAllowed):
        services.approve_reconciliation(actor=manager, reconciliation=reconciliation)
    # a count that matches needs no reason
    exact = services.submit_reconciliation(actor=rep, counts=[{"lot": lot, "counted": 16}])
    services.approve_reconciliation(actor=manager, reconciliation=exact)
    assert services.stock_of(rep, lot) == 16 and services.verify_balances() == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_disbursements_of_the_last_units_only_one_wins(org: dict[str, Any]) -> None:
    world = make_world(org)
    services.adjust_stock(actor=world["rep"], holder=world["rep"], lot=world["lot"], quantity=-17, reason="调整")
    policy.set_value(actor=org["admin"], key="samples.max_units_per_recipient", value=100, effective_from=today(),
                     reason="test")
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def hand_out() -> None:
        try:
            barrier.wait()
            give(world, 2)
            outcomes.append("given")
        except ValidationError as error:
            outcomes.append("refused" if "quantity" in error.message_dict else repr(error))
        finally:
            close_old_connections()

    threads = [threading.Thread(target=hand_out) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["given", "refused"]
    assert StockBalance.objects.get(holder=world["rep"], lot=world["lot"]).quantity == 1
    assert services.verify_balances() == []


def test_future_time_and_bad_quantities(world: dict[str, Any]) -> None:
    from django.utils import timezone

    _refused("disbursed_at", give, world, 1, disbursed_at=timezone.now() + datetime.timedelta(days=1))
    for quantity in (0, -1, 10**9, "3", True):
        _refused("quantity", give, world, quantity)
    _refused("place", give, world, 1, place="  ")


def test_the_next_count_is_due_an_interval_after_the_last_approved_one(org: dict[str, Any],
                                                                     world: dict[str, Any]) -> None:
    rep = world["rep"]
    assert services.reconciliation_due_on(rep) == today()  # holds stock, never counted
    assert services.reconciliation_due_on(org["rep_west"]) is None
    reconciliation = services.submit_reconciliation(actor=rep, counts=[{"lot": world["lot"], "counted": 20}])
    services.approve_reconciliation(actor=org["manager_east"], reconciliation=reconciliation)
    assert services.reconciliation_due_on(rep) == today() + datetime.timedelta(days=90)
    policy.set_value(actor=org["admin"], key="samples.reconciliation_interval_days", value=30,
                     effective_from=today(), reason="月度盘点")
    assert services.reconciliation_due_on(rep) == today() + datetime.timedelta(days=30)


def test_reps_are_reminded_when_their_count_falls_due_and_weekly_while_overdue(org: dict[str, Any],
                                                                             world: dict[str, Any]) -> None:
    rep, manager = world["rep"], org["manager_east"]

    def reminded(on: datetime.date) -> list[tuple[str, str]]:
        before = Notification.objects.order_by("-id").values_list("id", flat=True).first() or 0
        services.send_count_reminders(on)
        return sorted((row.recipient.username, row.title) for row in Notification.objects.filter(id__gt=before))

    due = today()  # rep_east holds stock and never counted: due today
    assert reminded(due) == [(rep.username, "您的样品盘点今天到期。")]
    assert reminded(due + datetime.timedelta(days=3)) == []
    late = f"自 {due.isoformat()} 起样品盘点已逾期。"
    assert reminded(due + datetime.timedelta(days=14)) == [(manager.username, f"{rep.get_full_name()}: {late}"),
                                                           (rep.username, late)]
    reconciliation = services.submit_reconciliation(actor=rep, counts=[{"lot": world["lot"], "counted": 20}])
    assert reminded(due + datetime.timedelta(days=21)) == []  # counted, waiting for the manager
    services.approve_reconciliation(actor=manager, reconciliation=reconciliation)
    assert reminded(due + datetime.timedelta(days=21)) == []
    assert reminded(due + datetime.timedelta(days=90)) == [(rep.username, "您的样品盘点今天到期。")]
    services.return_stock(actor=rep, lot=world["lot"], quantity=20, reason="离职交回")
    assert reminded(due + datetime.timedelta(days=90)) == []  # holds nothing: nothing to count


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_reps_racing_for_one_doctor_s_allowance_only_one_wins(org: dict[str, Any]) -> None:
    world = make_world(org)
    academic = world["academic"]
    customers.update_institution(actor=org["steward"], institution=org["institution_east"],
                                 changes={"academic_owner": academic})
    services.adjust_stock(actor=world["marketing"], holder=academic, lot=world["lot"], quantity=5, reason="配发")
    policy.set_value(actor=org["admin"], key="samples.max_units_per_recipient", value=3, effective_from=today(),
                     reason="test")
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def hand_out(actor: Any) -> None:
        try:
            barrier.wait()
            give(world, 2, actor=actor)
            outcomes.append("given")
        except ValidationError as error:
            outcomes.append("refused" if "quantity" in error.message_dict else repr(error))
        finally:
            close_old_connections()

    threads = [threading.Thread(target=hand_out, args=(actor,)) for actor in (world["rep"], academic)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["given", "refused"]
    assert Disbursement.objects.filter(contact=world["doctor"]).count() == 1


def test_a_back_dated_disbursement_cannot_slip_under_the_limit(world: dict[str, Any]) -> None:
    import base64

    from django.utils import timezone

    give(world, 8)
    _refused("quantity", give, world, 3, disbursed_at=timezone.now() - datetime.timedelta(hours=2))
    encoded = base64.b64encode(png()).decode()
    wrapped = "\n".join(encoded[i:i + 76] for i in range(0, len(encoded), 76))  # base64 as mail wraps it
    give(world, 2, signature=wrapped, disbursed_at=timezone.now() - datetime.timedelta(hours=2))
    assert services.used_allowance(world["doctor"], world["product"], timezone.now()) == 10
