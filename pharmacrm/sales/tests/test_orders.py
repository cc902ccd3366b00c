"""Orders: the lifecycle, the GSP and credit gates, partial shipments and invoicing, roles, scope, races."""

from __future__ import annotations

import datetime
import threading
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import close_old_connections

from conftest import DEMO_PASSWORD
from pharmacrm.core.models import AuditEntry, Notification
from pharmacrm.core.policy import today
from pharmacrm.core.workflow import TransitionNotAllowed
from pharmacrm.customers import qualification, services
from pharmacrm.customers.models import Institution
from pharmacrm.org.models import Division
from pharmacrm.org.roles import Role
from pharmacrm.org.services import create_user
from pharmacrm.sales import orders
from pharmacrm.sales import services as catalogue
from pharmacrm.sales.choices import OrderStatus
from pharmacrm.sales.models import Order, Product

pytestmark = pytest.mark.django_db

LATER = today() + datetime.timedelta(days=700)


def _user(org: dict[str, Any], username: str, role: str) -> Any:
    return create_user(actor=None, username=username, full_name=username, role=role, team=org["teams"]["company"],
                       email=f"{username}@example.com", password=DEMO_PASSWORD)


def _product(admin: Any, code: str, category: str, price_fen: int) -> Product:
    return catalogue.create_product(
        actor=admin, code=code, generic_name=f"测试药{code}", dosage_form="tablet", strength="10mg", pack="10片/盒",
        approval_number=f"国药准字H2023{len(code):04d}", marketing_authorisation_holder="华康制药",
        therapeutic_area="cardiovascular", list_price_fen=price_fen, category=category)


@pytest.fixture
def shop(org: dict[str, Any]) -> dict[str, Any]:
    """A qualified Shanghai pharmacy (licences for chemical drugs only), products, finance and an academic rep."""
    steward, admin = org["steward"], org["admin"]
    pharmacy = services.create_institution(actor=steward, name="老百姓大药房（徐汇店）", kind="pharmacy",
                                           division=Division.objects.get(pk="310104"), owner=org["rep_east"])
    for kind, categories in (("business", []), ("drug_trading", ["chemical"])):
        licence = qualification.add_licence(actor=steward, institution=pharmacy, kind=kind, number=f"{kind}-1",
                                            valid_to=today() + datetime.timedelta(days=400), categories=categories)
        qualification.review_licence(actor=steward, licence=licence, approve=True)
    finance = _user(org, "finance", Role.FINANCE)
    orders.set_credit_limit(actor=finance, institution=pharmacy, limit_fen=1_000_000)  # ¥10,000
    return {"pharmacy": pharmacy, "finance": finance, "academic": _user(org, "academic_east", Role.ACADEMIC_REP),
            "pill": _product(admin, "P1", "chemical", 3650), "insulin": _product(admin, "BIO-22", "biological", 6800)}


def _draft(org: dict[str, Any], shop: dict[str, Any], quantity: int = 100, product: str = "pill") -> Order:
    return orders.create_order(actor=org["rep_east"], institution=shop["pharmacy"],
                               lines=[{"product": shop[product], "quantity": quantity, "discount_fen": 500}])


def _submitted(org: dict[str, Any], shop: dict[str, Any], **kwargs: Any) -> Order:
    return orders.submit_order(actor=org["rep_east"], order=_draft(org, shop, **kwargs))


def test_draft_to_completed_with_partial_shipments_and_invoices(org: dict[str, Any], shop: dict[str, Any]) -> None:
    rep, manager, finance = org["rep_east"], org["manager_east"], shop["finance"]
    order = _draft(org, shop)
    line = order.lines.get()
    assert (line.unit_price_fen, line.amount_fen, order.total_fen) == (3650, 364_500, 364_500)  # 100 × ¥36.50 − ¥5
    order = orders.submit_order(actor=rep, order=order)
    order = orders.confirm_order(actor=manager, order=order)
    assert order.status == OrderStatus.CONFIRMED and order.confirmed_at is not None

    first = orders.record_shipment(actor=manager, order=order, shipped_on=today(), carrier="顺丰", tracking_number="SF1",
                                   lines=[{"order_line": line, "quantity": 40, "batch_number": "B2401",
                                           "expiry_date": LATER}])
    order.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_SHIPPED
    second = orders.record_shipment(actor=manager, order=order, shipped_on=today(), carrier="顺丰",
                                    lines=[{"order_line": line, "quantity": 60, "batch_number": "B2402",
                                            "expiry_date": LATER}])
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED
    assert orders.shipped_quantities(order) == {line.pk: 100}

    orders.confirm_receipt(actor=rep, shipment=first, received_on=today(), received_by="王店长")
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED  # one delivery still on its way
    orders.record_invoice(actor=finance, order=order, number="INV-1", issued_on=today(), amount_fen=145_800,
                          kind="special", shipments=[first])
    orders.confirm_receipt(actor=rep, shipment=second, received_on=today(), received_by="王店长")
    order.refresh_from_db()
    assert order.status == OrderStatus.RECEIVED  # invoices do not cover it yet
    orders.record_invoice(actor=finance, order=order, number="INV-2", issued_on=today(), amount_fen=218_700,
                          kind="special", shipments=[second])
    order.refresh_from_db()
    assert order.status == OrderStatus.INVOICED
    order = orders.complete_order(actor=finance, order=order)
    assert order.status == OrderStatus.COMPLETED and orders.open_receivables_fen(shop["pharmacy"]) == 0

    transitions = (AuditEntry.objects.for_object(order).filter(action="transition").order_by("id")
                   .values_list("changes", flat=True))
    assert [change["status"][1] for change in transitions] == [
        "submitted", "confirmed", "partially_shipped", "shipped", "received", "invoiced", "completed"]
    # the owner rep hears of every step someone else took (confirmed, two shipments, invoiced, completed),
    # not of his own (submitted, received)
    titles = list(Notification.objects.filter(recipient=rep, title__contains=order.number).values_list("title", flat=True))
    assert len(titles) == 5 and not any("提交" in title or "签收" in title for title in titles)


def test_gsp_gate_refuses_and_cannot_be_overridden(org: dict[str, Any], shop: dict[str, Any]) -> None:
    order = _submitted(org, shop, product="insulin")  # biological: outside the pharmacy's licensed scope
    for actor in (org["manager_east"], shop["finance"]):
        with pytest.raises(orders.GateRefused) as refused:
            orders.confirm_order(actor=actor, order=order, credit_override_reason="老客户，财务担保")
        assert refused.value.gate == "gsp"
        assert "第九十条" in " ".join(refused.value.messages) and not refused.value.overridable
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED

    unlicensed = services.create_institution(actor=org["steward"], name="无证诊所", kind="clinic",
                                             division=Division.objects.get(pk="310104"), owner=org["rep_east"])
    orders.set_credit_limit(actor=shop["finance"], institution=unlicensed, limit_fen=10_000_000)
    order = orders.submit_order(actor=org["rep_east"], order=orders.create_order(
        actor=org["rep_east"], institution=unlicensed, lines=[{"product": shop["pill"], "quantity": 1}]))
    with pytest.raises(orders.GateRefused) as refused:
        orders.confirm_order(actor=org["manager_east"], order=order)
    assert "第八十九条" in " ".join(refused.value.messages)


def test_gsp_gate_holds_at_shipment_too(org: dict[str, Any], shop: dict[str, Any]) -> None:
    order = orders.confirm_order(actor=org["manager_east"], order=_submitted(org, shop))
    line = order.lines.get()
    with pytest.raises(orders.GateRefused):  # a shipment dated after the licences expire is not released
        orders.record_shipment(actor=org["manager_east"], order=order, shipped_on=today() + datetime.timedelta(days=401),
                               carrier="顺丰", lines=[{"order_line": line, "quantity": 1, "batch_number": "B",
                                                       "expiry_date": LATER}])


def test_credit_gate_and_finance_override(org: dict[str, Any], shop: dict[str, Any]) -> None:
    first = orders.confirm_order(actor=org["manager_east"], order=_submitted(org, shop, quantity=200))  # ¥7,295
    assert orders.open_receivables_fen(shop["pharmacy"]) == first.total_fen
    second = _submitted(org, shop, quantity=100)  # ¥3,645 more: over the ¥10,000 limit
    with pytest.raises(orders.GateRefused) as refused:
        orders.confirm_order(actor=org["manager_east"], order=second)
    assert refused.value.overridable and "¥10,000.00" in refused.value.messages[0]
    with pytest.raises(orders.GateRefused):  # a manager's reason is not enough: finance overrides
        orders.confirm_order(actor=org["manager_east"], order=second, credit_override_reason="客户承诺月底回款")
    with pytest.raises(orders.GateRefused):  # finance without a reason: refused
        orders.confirm_order(actor=shop["finance"], order=second)
    second = orders.confirm_order(actor=shop["finance"], order=second, credit_override_reason="客户承诺月底回款")
    assert second.status == OrderStatus.CONFIRMED and second.credit_overridden_by == shop["finance"]
    entry = AuditEntry.objects.for_object(second).filter(action="transition").order_by("id").last()
    assert entry.reason == "客户承诺月底回款" and entry.actor_id == shop["finance"].pk


def test_no_credit_limit_means_no_credit(org: dict[str, Any], shop: dict[str, Any]) -> None:
    hospital = org["institution_east"]
    qualification.review_licence(actor=org["steward"], licence=qualification.add_licence(
        actor=org["steward"], institution=hospital, kind="medical_institution", number="PDY-1",
        valid_to=today() + datetime.timedelta(days=400)), approve=True)
    order = orders.submit_order(actor=org["rep_east"], order=orders.create_order(
        actor=org["rep_east"], institution=hospital, lines=[{"product": shop["pill"], "quantity": 1}]))
    with pytest.raises(orders.GateRefused) as refused:
        orders.confirm_order(actor=org["manager_east"], order=order)
    assert refused.value.overridable


def test_who_may_do_what(org: dict[str, Any], shop: dict[str, Any]) -> None:
    with pytest.raises(PermissionDenied):  # academic reps take no orders (DOMAIN.md 2.1)
        orders.create_order(actor=shop["academic"], institution=shop["pharmacy"],
                            lines=[{"product": shop["pill"], "quantity": 1}])
    with pytest.raises(PermissionDenied):  # not rep_west's customer
        orders.create_order(actor=org["rep_west"], institution=shop["pharmacy"],
                            lines=[{"product": shop["pill"], "quantity": 1}])
    order = _submitted(org, shop)
    with pytest.raises(PermissionDenied):  # reps do not confirm their own orders
        orders.confirm_order(actor=org["rep_east"], order=order)
    order = orders.confirm_order(actor=org["manager_east"], order=order)
    with pytest.raises(PermissionDenied):  # nor ship, nor invoice
        orders.record_shipment(actor=org["rep_east"], order=order, shipped_on=today(), carrier="x", lines=[])
    with pytest.raises(PermissionDenied):
        orders.record_invoice(actor=org["manager_east"], order=order, number="X", issued_on=today(), amount_fen=1,
                              kind="ordinary", shipments=[])
    assert list(Order.objects.visible_to(org["rep_west"])) == []
    assert list(Order.objects.visible_to(shop["finance"])) == [order]
    assert list(Order.objects.visible_to(shop["academic"])) == [] or not shop["academic"].has_perm("sales.view_order")


def test_bad_lines_shipments_and_invoices_write_nothing(org: dict[str, Any], shop: dict[str, Any]) -> None:
    before = Order.objects.count()
    with pytest.raises(ValidationError) as error:
        orders.create_order(actor=org["rep_east"], institution=shop["pharmacy"],
                            lines=[{"product": shop["pill"], "quantity": 0}])
    assert "lines" in error.value.message_dict
    with pytest.raises(ValidationError):
        orders.create_order(actor=org["rep_east"], institution=shop["pharmacy"], lines=[])
    with pytest.raises(ValidationError):  # a discount larger than the line
        orders.create_order(actor=org["rep_east"], institution=shop["pharmacy"],
                            lines=[{"product": shop["pill"], "quantity": 1, "discount_fen": 5000}])
    assert Order.objects.count() == before

    order = orders.confirm_order(actor=org["manager_east"], order=_submitted(org, shop, quantity=10))
    line = order.lines.get()
    ship = {"actor": org["manager_east"], "order": order, "shipped_on": today(), "carrier": "顺丰"}
    for bad in ({"quantity": 11, "batch_number": "B", "expiry_date": LATER},          # more than ordered
                {"quantity": 1, "batch_number": "", "expiry_date": LATER},            # no batch
                {"quantity": 1, "batch_number": "B", "expiry_date": today()}):         # expired
        with pytest.raises(ValidationError):
            orders.record_shipment(**ship, lines=[{"order_line": line, **bad}])
    assert not order.shipments.exists()
    shipment = orders.record_shipment(**ship, lines=[{"order_line": line, "quantity": 10, "batch_number": "B",
                                                      "expiry_date": LATER}])
    with pytest.raises(ValidationError):  # more than the order
        orders.record_invoice(actor=shop["finance"], order=order, number="INV-9", issued_on=today(),
                              amount_fen=order.total_fen + 1, kind="special", shipments=[shipment])
    with pytest.raises(TransitionNotAllowed):  # a shipped order is not confirmed again
        orders.confirm_order(actor=org["manager_east"], order=order)


def test_send_back_and_cancel_need_a_reason(org: dict[str, Any], shop: dict[str, Any]) -> None:
    order = _submitted(org, shop)
    with pytest.raises(ValidationError):
        orders.return_order(actor=org["manager_east"], order=order, reason=" ")
    order = orders.return_order(actor=org["manager_east"], order=order, reason="数量有误")
    assert order.status == OrderStatus.DRAFT and order.status_reason == "数量有误"
    order = orders.replace_lines(actor=org["rep_east"], order=order,
                                 lines=[{"product": shop["pill"], "quantity": 50}], expected_version=order.version)
    assert order.total_fen == 50 * 3650 and order.lines.count() == 1
    order = orders.cancel_order(actor=org["rep_east"], order=order, reason="客户取消")
    assert order.status == OrderStatus.CANCELLED
    with pytest.raises(TransitionNotAllowed):
        orders.submit_order(actor=org["rep_east"], order=order)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_confirmations_only_one_wins(org: dict[str, Any], shop: dict[str, Any]) -> None:
    order = _submitted(org, shop)
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def confirm(actor: Any) -> None:
        try:
            barrier.wait()
            orders.confirm_order(actor=actor, order=Order.objects.get(pk=order.pk))
            outcomes.append("confirmed")
        except TransitionNotAllowed:
            outcomes.append("refused")
        finally:
            close_old_connections()

    threads = [threading.Thread(target=confirm, args=(actor,)) for actor in (org["manager_east"], shop["finance"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["confirmed", "refused"]
    assert AuditEntry.objects.for_object(order).filter(action="transition", changes__status__1="confirmed").count() == 1
    assert Institution.objects.get(pk=shop["pharmacy"].pk).version >= 1


def test_pages_show_orders_in_scope_and_on_the_customer_timeline(client: Any, org: dict[str, Any],
                                                                  shop: dict[str, Any]) -> None:
    from conftest import login

    order = orders.confirm_order(actor=org["manager_east"], order=_submitted(org, shop))
    login(client, org["rep_east"])
    listing = client.get("/sales/orders/").content.decode()
    assert order.number in listing and "/sales/orders/" in client.get("/").content.decode()
    page = client.get(order.get_absolute_url()).content.decode()
    assert "老百姓大药房" in page and "¥3,645.00" in page
    timeline = client.get(shop["pharmacy"].get_absolute_url()).content.decode()
    assert f"{order.number}" in timeline
    login(client, org["rep_west"])
    assert client.get(order.get_absolute_url()).status_code == 404
    assert order.number not in client.get("/sales/orders/").content.decode()
    login(client, shop["academic"])
    assert client.get("/sales/orders/").status_code == 403


def test_api_takes_an_order_through_every_step(api_client: Any, org: dict[str, Any], shop: dict[str, Any]) -> None:
    rep, manager, finance = org["rep_east"], org["manager_east"], shop["finance"]
    api_client.force_authenticate(rep)
    bad = api_client.post("/api/v1/orders/", {"institution": shop["pharmacy"].pk, "lines": []}, format="json")
    assert bad.status_code == 400 and "lines" in bad.json()["error"]["fields"]
    response = api_client.post("/api/v1/orders/", {"institution": shop["pharmacy"].pk, "lines": [
        {"product": shop["pill"].pk, "quantity": 10}]}, format="json")
    assert response.status_code == 201, response.json()
    order = response.json()
    assert order["total_fen"] == 36_500 and order["status"] == "draft" and order["number"].startswith("SO")
    url = f"/api/v1/orders/{order['id']}"
    assert api_client.post(f"{url}/submit/").json()["status"] == "submitted"
    assert api_client.post(f"{url}/confirm/", {}, format="json").status_code == 403  # reps do not confirm

    api_client.force_authenticate(manager)
    confirmed = api_client.post(f"{url}/confirm/", {}, format="json")
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
    again = api_client.post(f"{url}/confirm/", {}, format="json")
    assert again.status_code == 409
    line = confirmed.json()["lines"][0]["id"]
    shipment = api_client.post(f"{url}/ship/", {"shipped_on": str(today()), "carrier": "顺丰", "lines": [
        {"order_line": line, "quantity": 10, "batch_number": "B1", "expiry_date": str(today())}]}, format="json")
    assert shipment.status_code == 400  # expired on the day it ships
    shipment = api_client.post(f"{url}/ship/", {"shipped_on": str(today()), "carrier": "顺丰", "lines": [
        {"order_line": line, "quantity": 10, "batch_number": "B1", "expiry_date": str(LATER)}]}, format="json")
    assert shipment.status_code == 201
    receipt = api_client.post(f"/api/v1/shipments/{shipment.json()['id']}/receipt/",
                              {"received_on": str(today()), "received_by": "王店长"}, format="json")
    assert receipt.status_code == 200
    assert api_client.get(url + "/").json()["status"] == "received"

    api_client.force_authenticate(finance)
    invoice = api_client.post(f"{url}/invoice/", {"number": "INV-API-1", "issued_on": str(today()),
                                                  "amount_fen": 36_500, "kind": "ordinary",
                                                  "shipments": [shipment.json()["id"]]}, format="json")
    assert invoice.status_code == 201
    assert api_client.post(f"{url}/complete/").json()["status"] == "completed"
    limits = api_client.post("/api/v1/credit-limits/", {"institution": shop["pharmacy"].pk, "limit_fen": 2_000_000},
                             format="json")
    assert limits.status_code == 201 and limits.json()["open_receivables_fen"] == 0

    api_client.force_authenticate(org["rep_west"])  # out of scope: as if it did not exist
    assert api_client.get(url + "/").status_code == 404
    assert api_client.post(f"{url}/cancel/", {"reason": "x"}, format="json").status_code == 404
    assert api_client.get("/api/v1/orders/").json()["results"] == []
    assert api_client.post("/api/v1/credit-limits/", {"institution": shop["pharmacy"].pk, "limit_fen": 1},
                           format="json").status_code == 403


def test_pages_take_an_order_from_draft_to_completed(client: Any, org: dict[str, Any], shop: dict[str, Any]) -> None:
    from conftest import login

    pharmacy = shop["pharmacy"]
    login(client, org["rep_east"])
    assert "/sales/orders/new/?institution=" in client.get(pharmacy.get_absolute_url()).content.decode()
    form = {"ordered_on": str(today()), "lines-TOTAL_FORMS": "5", "lines-INITIAL_FORMS": "0",
            "lines-MIN_NUM_FORMS": "0", "lines-MAX_NUM_FORMS": "50",
            "lines-0-product": shop["pill"].pk, "lines-0-quantity": "20", "lines-0-discount": "1.5"}
    bad = client.post(f"/sales/orders/new/?institution={pharmacy.pk}", {**form, "lines-1-quantity": "3"})
    assert bad.status_code == 400 and not Order.objects.exists()  # a quantity without a product
    response = client.post(f"/sales/orders/new/?institution={pharmacy.pk}", {**form, "submit_now": "1"})
    order = Order.objects.get()
    assert response.status_code == 302 and order.status == OrderStatus.SUBMITTED and order.total_fen == 20 * 3650 - 150
    assert client.get(f"/sales/orders/new/?institution={org['institution_west'].pk}").status_code == 404

    login(client, org["manager_east"])
    page = client.get(order.get_absolute_url()).content.decode()
    assert f"sales/orders/{order.pk}/confirm/" in page
    client.post(f"/sales/orders/{order.pk}/confirm/")
    order.refresh_from_db()
    assert order.status == OrderStatus.CONFIRMED
    line = order.lines.get()
    ship = {"shipped_on": str(today()), "carrier": "顺丰", "tracking_number": "SF9", "ship-TOTAL_FORMS": "1",
            "ship-INITIAL_FORMS": "1", "ship-MIN_NUM_FORMS": "0", "ship-MAX_NUM_FORMS": "500",
            "ship-0-order_line": line.pk, "ship-0-quantity": "20", "ship-0-batch_number": "B1",
            "ship-0-expiry_date": str(LATER)}
    client.post(f"/sales/orders/{order.pk}/ship/", {**ship, "ship-0-expiry_date": str(today())})
    assert not order.shipments.exists()  # expired: refused, shown as a message
    client.post(f"/sales/orders/{order.pk}/ship/", ship)
    shipment = order.shipments.get()
    client.post(f"/sales/shipments/{shipment.pk}/receipt/", {"received_on": str(today()), "received_by": "王店长"})
    order.refresh_from_db()
    assert order.status == OrderStatus.RECEIVED

    login(client, shop["finance"])
    client.post(f"/sales/orders/{order.pk}/invoice/", {"number": "INV-P1", "issued_on": str(today()),
                                                      "amount": "728.50", "kind": "special",
                                                      "shipments": [shipment.pk]})
    order.refresh_from_db()
    assert order.status == OrderStatus.INVOICED
    client.post(f"/sales/orders/{order.pk}/complete/")
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED

    login(client, org["rep_west"])
    assert client.post(f"/sales/orders/{order.pk}/cancel/", {"reason": "x"}).status_code == 404


def test_shipments_invoices_and_credit_limits_follow_the_buyer_scope(api_client: Any, org: dict[str, Any],
                                                                     shop: dict[str, Any]) -> None:
    from pharmacrm.sales.models import CreditLimit, Invoice, Shipment

    order = orders.confirm_order(actor=org["manager_east"], order=_submitted(org, shop, quantity=1))
    shipment = orders.record_shipment(actor=org["manager_east"], order=order, shipped_on=today(), carrier="顺丰",
                                      lines=[{"order_line": order.lines.get(), "quantity": 1, "batch_number": "B",
                                              "expiry_date": LATER}])
    orders.record_invoice(actor=shop["finance"], order=order, number="INV-S", issued_on=today(),
                          amount_fen=order.total_fen, kind="ordinary", shipments=[shipment])
    for model in (Shipment, Invoice, CreditLimit):
        assert model.objects.visible_to(org["rep_east"]).exists()
        assert not model.objects.visible_to(org["rep_west"]).exists()
    api_client.force_authenticate(org["rep_west"])
    for url in ("/api/v1/shipments/", "/api/v1/invoices/", "/api/v1/credit-limits/"):
        assert api_client.get(url).json()["results"] == []
    assert api_client.get(f"/api/v1/shipments/{shipment.pk}/").status_code == 404
    assert api_client.post(f"/api/v1/shipments/{shipment.pk}/receipt/", {"received_on": str(today()),
                                                                       "received_by": "x"}, format="json").status_code == 404


def test_bad_input_is_a_clear_answer_never_a_500(client: Any, api_client: Any, org: dict[str, Any],
                                                 shop: dict[str, Any]) -> None:
    from conftest import login

    login(client, org["rep_east"])
    assert client.get("/sales/orders/new/?institution=abc").status_code == 404
    assert client.get("/sales/orders/new/").status_code == 404
    assert client.get("/sales/orders/", {"status": "nonsense", "ordered_from": "yesterday"}).status_code in (200, 400)
    assert client.post("/sales/orders/999999/confirm/").status_code == 404
    api_client.force_authenticate(org["rep_east"])
    for payload in ({"institution": "x", "lines": [{"product": shop["pill"].pk, "quantity": 1}]},
                    {"institution": shop["pharmacy"].pk, "lines": [{"product": shop["pill"].pk, "quantity": 10**12}]},
                    {"institution": shop["pharmacy"].pk, "lines": [{"product": shop["pill"].pk, "quantity": "十"}]},
                    {"institution": shop["pharmacy"].pk, "lines": "not a list"},
                    {"institution": shop["pharmacy"].pk, "lines": [{"product": shop["pill"].pk, "quantity": 1,
                                                                     "discount_fen": -5}]},
                    {"institution": org["institution_west"].pk, "lines": [{"product": shop["pill"].pk,
                                                                            "quantity": 1}]}):
        response = api_client.post("/api/v1/orders/", payload, format="json")
        assert response.status_code == 400, (payload, response.content)
        assert response.json()["error"]["fields"]
    assert not Order.objects.exists()


def test_finance_sets_credit_limits_on_a_page(client: Any, org: dict[str, Any], shop: dict[str, Any]) -> None:
    from conftest import login
    from pharmacrm.sales.models import CreditLimit

    url = f"/sales/credit-limits/{shop['pharmacy'].pk}/"
    login(client, shop["finance"])
    assert url in client.get(shop["pharmacy"].get_absolute_url()).content.decode()
    assert client.post(url, {"limit": "-1"}).status_code == 400
    assert client.post(url, {"limit": "50,000.00", "note": "年度评审"}).status_code == 302
    limit = CreditLimit.objects.get(institution=shop["pharmacy"])
    assert (limit.limit_fen, limit.note) == (5_000_000, "年度评审")
    assert AuditEntry.objects.for_object(limit).filter(action="update").exists()
    login(client, org["rep_east"])
    assert url not in client.get(shop["pharmacy"].get_absolute_url()).content.decode()
    assert client.get(url).status_code == 403


def test_a_draft_s_lines_are_edited_on_a_page(client: Any, org: dict[str, Any], shop: dict[str, Any]) -> None:
    from conftest import login

    order = _draft(org, shop, quantity=10)
    login(client, org["rep_east"])
    url = f"/sales/orders/{order.pk}/lines/"
    page = client.get(url).content.decode()
    assert 'value="10"' in page and 'value="5.00"' in page  # the line as it is, discount in yuan
    form = {"version": order.version, "lines-TOTAL_FORMS": "6", "lines-INITIAL_FORMS": "1", "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "50", "lines-0-product": shop["pill"].pk, "lines-0-quantity": "30",
            "lines-0-discount": ""}
    assert client.post(url, {**form, "version": order.version - 1}).status_code == 400  # someone saved first
    order.refresh_from_db()
    assert order.total_fen == 10 * 3650 - 500
    assert client.post(url, form).status_code == 302
    order.refresh_from_db()
    assert order.total_fen == 30 * 3650 and order.lines.get().quantity == 30
    orders.submit_order(actor=org["rep_east"], order=order)
    response = client.post(url, {**form, "version": Order.objects.get(pk=order.pk).version})
    assert response.status_code == 400 and "草稿" in response.content.decode()  # only drafts change


def test_credit_limit_list_costs_the_same_for_one_customer_or_many(api_client: Any, org: dict[str, Any],
                                                                   shop: dict[str, Any]) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    order = orders.confirm_order(actor=org["manager_east"], order=_submitted(org, shop, quantity=2))
    api_client.force_authenticate(shop["finance"])

    def listing() -> tuple[list[dict[str, Any]], int]:
        with CaptureQueriesContext(connection) as queries:
            rows = api_client.get("/api/v1/credit-limits/").json()["results"]
        return rows, len(queries)

    rows, one = listing()
    assert [row["open_receivables_fen"] for row in rows] == [order.total_fen]
    for number in range(3):
        other = services.create_institution(actor=org["steward"], name=f"测试药房{number}", kind="pharmacy",
                                            division=Division.objects.get(pk="310104"), owner=org["rep_east"])
        orders.set_credit_limit(actor=shop["finance"], institution=other, limit_fen=100)
    rows, four = listing()
    assert len(rows) == 4 and four == one


def test_a_deleted_order_leaves_its_lines_in_the_audit_trail(org: dict[str, Any], shop: dict[str, Any]) -> None:
    """A delete cascades to the lines (on_delete=CASCADE): each line's last values are kept, not only the order's."""
    from pharmacrm.core.audit import audited_delete
    from pharmacrm.sales.models import OrderLine

    order = orders.create_order(actor=org["rep_east"], institution=shop["pharmacy"],
                                lines=[{"product": shop["pill"], "quantity": 10, "discount_fen": 0},
                                       {"product": shop["pill"], "quantity": 5, "discount_fen": 100}])
    line_ids = sorted(OrderLine.objects.filter(order=order).values_list("pk", flat=True))
    assert len(line_ids) == 2
    audited_delete(order, actor=org["rep_east"], reason="录入错误")
    assert not OrderLine.objects.filter(pk__in=line_ids).exists()
    deleted = AuditEntry.objects.filter(action="delete").order_by("id")
    lines = [entry for entry in deleted if entry.content_type.model == "orderline"]
    assert sorted(int(entry.object_id) for entry in lines) == line_ids
    assert {entry.changes["quantity"][0] for entry in lines} == {10, 5}
    assert all(entry.actor == org["rep_east"] and entry.reason == "录入错误" for entry in lines)
    assert deleted.last().content_type.model == "order"
