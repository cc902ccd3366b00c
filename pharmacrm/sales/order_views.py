"""Order pages that change something: the new-order form and one small POST view per step.

Each view checks visibility (404 outside scope), calls one service in ``sales.orders`` and shows
its refusal (a gate, a stale version, a bad line) on the order page, never a 500.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from pharmacrm.core.audit import StaleVersion
from pharmacrm.core.forms import add_service_errors
from pharmacrm.core.generic import get_visible_or_404
from pharmacrm.core.policy import today
from pharmacrm.core.workflow import TransitionNotAllowed
from pharmacrm.customers.choices import InstitutionKind
from pharmacrm.customers.models import Institution
from pharmacrm.sales import orders
from pharmacrm.sales.forms import (
    ConfirmForm,
    CreditLimitForm,
    InvoiceForm,
    OrderForm,
    OrderLineFormSet,
    ReasonForm,
    ReceiptForm,
    ShipmentForm,
    ShipmentLineFormSet,
)
from pharmacrm.sales.models import CreditLimit, Order, Product, Shipment

REFUSALS = (ValidationError, TransitionNotAllowed, StaleVersion)


def _refused(request: HttpRequest, error: Exception) -> None:
    for message in getattr(error, "messages", None) or [str(error)]:
        messages.error(request, message)


def _distributors(user: Any) -> Any:
    return Institution.objects.visible_to(user).live().filter(kind=InstitutionKind.DISTRIBUTOR).order_by("name")[:500]


@login_required
def order_create(request: HttpRequest) -> HttpResponse:
    """A new order for one customer (``?institution=``): header and up to 50 lines."""
    if not request.user.has_perm("sales.add_order"):
        raise PermissionDenied
    institution = get_visible_or_404(Institution, request.user, pk=request.GET.get("institution") or 0)
    products = Product.objects.visible_to(request.user).on_sale().order_by("code")
    form = OrderForm(request.POST or None, distributors=Institution.objects.filter(
        pk__in=[row.pk for row in _distributors(request.user)]), initial={"ordered_on": today()})
    lines = OrderLineFormSet(request.POST or None, form_kwargs={"products": products}, prefix="lines")
    if request.method == "POST" and form.is_valid() and lines.is_valid():
        wanted = [{"product": line["product"], "quantity": line["quantity"], "discount_fen": line.get("discount") or 0}
                  for line in lines.cleaned_data if line.get("product")]
        try:
            with transaction.atomic():
                order = orders.create_order(actor=request.user, institution=institution, lines=wanted,
                                            **form.cleaned_data)
                if request.POST.get("submit_now"):
                    order = orders.submit_order(actor=request.user, order=order)
        except REFUSALS as error:
            add_service_errors(form, error) if isinstance(error, ValidationError) else form.add_error(None, str(error))
        else:
            messages.success(request, _("Order %(number)s saved.") % {"number": order.number})
            return redirect(order.get_absolute_url())
    status = 400 if request.method == "POST" else 200
    return render(request, "sales/order_form.html", {"form": form, "lines": lines, "institution": institution},
                  status=status)


@login_required
def order_edit_lines(request: HttpRequest, pk: int) -> HttpResponse:
    """A draft's lines, changed as a whole (optimistic locking: someone else's save first → say so)."""
    order = get_visible_or_404(Order, request.user, pk=pk)
    if not request.user.has_perm("sales.change_order"):
        raise PermissionDenied
    products = Product.objects.visible_to(request.user).on_sale().order_by("code")
    initial = [{"product": line.product, "quantity": line.quantity, "discount": line.discount_fen}
               for line in order.lines.select_related("product")]
    lines = OrderLineFormSet(request.POST or None, form_kwargs={"products": products}, prefix="lines", initial=initial)
    version = request.POST.get("version") or order.version
    problems: list[str] = []
    if request.method == "POST" and lines.is_valid():
        wanted = [{"product": line["product"], "quantity": line["quantity"], "discount_fen": line.get("discount") or 0}
                  for line in lines.cleaned_data if line.get("product")]
        try:
            orders.replace_lines(actor=request.user, order=order, lines=wanted,
                                 expected_version=int(version) if str(version).isdigit() else None)
        except REFUSALS as error:
            problems = getattr(error, "messages", None) or [str(error)]
        else:
            messages.success(request, _("Saved."))
            return redirect(order.get_absolute_url())
    return render(request, "sales/order_lines_form.html", {"order": order, "lines": lines, "version": version,
                                                           "problems": problems},
                  status=400 if request.method == "POST" else 200)


def _order_step(request: HttpRequest, pk: int) -> Order:
    return get_visible_or_404(Order, request.user, pk=pk)


def _step(request: HttpRequest, pk: int, service: Any, done: str, form_class: Any = None,
          invalid: str = "") -> HttpResponse:
    """One step of the order: read its small form if it has one, call the service with it, and show the
    outcome (or the refusal: a gate, a stale version, a missing reason) as a message on the order page."""
    order = _order_step(request, pk)
    form = form_class(request.POST) if form_class else None
    if form is not None and not form.is_valid():
        messages.error(request, invalid)
        return redirect(order.get_absolute_url())
    try:
        service(actor=request.user, order=order, **(form.cleaned_data if form else {}))
        messages.success(request, done)
    except REFUSALS as error:
        _refused(request, error)
    return redirect(order.get_absolute_url())


@login_required
@require_POST
def order_submit(request: HttpRequest, pk: int) -> HttpResponse:
    return _step(request, pk, orders.submit_order, _("Submitted for confirmation."))


@login_required
@require_POST
def order_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    return _step(request, pk, orders.confirm_order, _("Confirmed."), ConfirmForm,
                 _("The credit override reason is at most 300 characters."))


@login_required
@require_POST
def order_send_back(request: HttpRequest, pk: int) -> HttpResponse:
    return _step(request, pk, orders.return_order, _("Sent back to the rep."), ReasonForm,
                 _("A reason is required for this change."))


@login_required
@require_POST
def order_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _step(request, pk, orders.cancel_order, _("Cancelled."), ReasonForm,
                 _("A reason is required for this change."))


@login_required
@require_POST
def order_ship(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order_step(request, pk)
    form = ShipmentForm(request.POST)
    lines = ShipmentLineFormSet(request.POST, prefix="ship")
    if form.is_valid() and lines.is_valid():
        try:
            orders.record_shipment(actor=request.user, order=order, lines=[
                line for line in lines.cleaned_data if line.get("quantity")], **form.cleaned_data)
            messages.success(request, _("Shipment recorded."))
        except REFUSALS as error:
            _refused(request, error)
    else:
        messages.error(request, _("Check the shipment: date, carrier and each line's quantity, batch and expiry."))
    return redirect(order.get_absolute_url() + "#tab-shipments")


@login_required
@require_POST
def shipment_receipt(request: HttpRequest, pk: int) -> HttpResponse:
    shipment = get_visible_or_404(Shipment, request.user, pk=pk)
    form = ReceiptForm(request.POST)
    if form.is_valid():
        try:
            orders.confirm_receipt(actor=request.user, shipment=shipment, **form.cleaned_data)
            messages.success(request, _("Receipt recorded."))
        except REFUSALS as error:
            _refused(request, error)
    else:
        messages.error(request, _("Enter the date and who signed for it."))
    return redirect(shipment.order.get_absolute_url() + "#tab-shipments")


@login_required
@require_POST
def order_invoice(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order_step(request, pk)
    form = InvoiceForm(request.POST, shipments=order.shipments.all())
    if form.is_valid():
        data = form.cleaned_data
        try:
            orders.record_invoice(actor=request.user, order=order, number=data["number"], issued_on=data["issued_on"],
                                  amount_fen=data["amount"], kind=data["kind"], shipments=list(data["shipments"]))
            messages.success(request, _("Invoice recorded."))
        except REFUSALS as error:
            _refused(request, error)
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return redirect(order.get_absolute_url() + "#tab-invoices")


@login_required
@require_POST
def order_complete(request: HttpRequest, pk: int) -> HttpResponse:
    return _step(request, pk, orders.complete_order, _("Completed."))


@login_required
def credit_limit(request: HttpRequest, pk: int) -> HttpResponse:
    """Finance sets a customer's credit limit and sees what it owes now."""
    institution = get_visible_or_404(Institution, request.user, pk=pk)
    if not request.user.has_perm("sales.change_creditlimit"):
        raise PermissionDenied
    current = CreditLimit.objects.filter(institution=institution).first()
    form = CreditLimitForm(request.POST or None, initial={"limit": current.limit_fen if current else None,
                                                          "note": current.note if current else ""})
    if request.method == "POST" and form.is_valid():
        try:
            orders.set_credit_limit(actor=request.user, institution=institution, limit_fen=form.cleaned_data["limit"],
                                    note=form.cleaned_data["note"])
        except REFUSALS as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Credit limit saved."))
            return redirect(institution.get_absolute_url())
    return render(request, "sales/credit_limit_form.html", {
        "form": form, "institution": institution, "current": current,
        "owed": orders.open_receivables_fen(institution)}, status=400 if form.errors else 200)
