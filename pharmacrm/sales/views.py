"""Catalogue pages: list with filters and export, detail with history, create and edit."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from pharmacrm.core.audit import StaleVersion
from pharmacrm.core.forms import add_service_errors
from pharmacrm.core.generic import ScopedDetailView, ScopedListView, get_visible_or_404
from pharmacrm.core.policy import today
from pharmacrm.sales import orders, services
from pharmacrm.sales.choices import OrderStatus
from pharmacrm.sales.filters import OrderFilter, ProductFilter
from pharmacrm.sales.forms import (
    ConfirmForm,
    InvoiceForm,
    ProductForm,
    ReasonForm,
    ReceiptForm,
    ShipmentForm,
    ShipmentLineFormSet,
)
from pharmacrm.sales.models import Order, Product

SERVICE_ERRORS = (StaleVersion, ValidationError)


class ProductListView(ScopedListView):
    model = Product
    permission_required = "sales.view_product"
    template_name = "sales/product_list.html"
    filterset_class = ProductFilter
    # by code: a company's codes group its products by line (a name sort would be by Unicode, not pinyin)
    sort_options = {"code": ("code", "id"), "-id": ("-id",)}
    sort_labels = {"code": _l("Product code")}
    export_permission = "sales.view_product"
    export_name = "products"
    export_columns = (
        (_l("Product code"), "code"), (_l("Generic name"), "generic_name"), (_l("Brand name"), "brand_name"),
        (_l("Dosage form"), "get_dosage_form_display"), (_l("Strength"), "strength"), (_l("Pack"), "pack"),
        (_l("NMPA approval number"), "approval_number"),
        (_l("Marketing authorisation holder"), "marketing_authorisation_holder"),
        (_l("Therapeutic area"), "get_therapeutic_area_display"),
        (_l("Prescription class"), "get_prescription_class_display"),
        (_l("Reimbursement class"), "get_reimbursement_class_display"),
        (_l("Volume-based procurement"), "volume_based_procurement"),
        (_l("Procurement price (CNY)"), "procurement_price"), (_l("List price (CNY)"), "list_price"),
        (_l("Licence category needed"), "get_category_display"), (_l("Status"), "get_status_display"),
    )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["can_add"] = self.request.user.has_perm("sales.add_product")
        return context


class ProductDetailView(ScopedDetailView):
    model = Product
    permission_required = "sales.view_product"
    template_name = "sales/product_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["can_edit"] = self.request.user.has_perm("sales.change_product")
        return context


def _form_response(request: HttpRequest, context: dict[str, Any]) -> HttpResponse:
    return render(request, "sales/product_form.html", context, status=400 if context["form"].errors else 200)


@login_required
def product_create(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("sales.add_product"):
        raise PermissionDenied
    form = ProductForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            product = services.create_product(actor=request.user, **form.service_fields())
        except SERVICE_ERRORS as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect(product.get_absolute_url())
    return _form_response(request, {"form": form, "object": None})


@login_required
def product_edit(request: HttpRequest, pk: int) -> HttpResponse:
    product = get_visible_or_404(Product, request.user, pk=pk)
    if not request.user.has_perm("sales.change_product"):
        raise PermissionDenied
    form = ProductForm(request.POST or None, instance=Product.objects.get(pk=pk),
                       initial={"version": product.version})
    if request.method == "POST" and form.is_valid():
        try:
            product = services.update_product(actor=request.user, product=product, changes=form.service_fields(),
                                              expected_version=form.cleaned_data.get("version"))
        except SERVICE_ERRORS as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect(product.get_absolute_url())
    return _form_response(request, {"form": form, "object": product})


# --- orders ---------------------------------------------------------------------------------------------


class OrderListView(ScopedListView):
    model = Order
    permission_required = "sales.view_order"
    template_name = "sales/order_list.html"
    filterset_class = OrderFilter
    select_related = ("institution", "owner")
    sort_options = {"-id": ("-id",), "id": ("id",)}
    export_permission = "sales.view_order"
    export_name = "orders"
    export_select_related = ("distributor",)
    export_columns = (
        (_l("Order"), "number"), (_l("Order date"), "ordered_on"), (_l("Buyer"), "institution.name"),
        (_l("Through distributor"), "distributor.name"), (_l("Owner rep"), "owner.full_name"),
        (_l("Status"), "get_status_display"), (_l("Total (CNY)"), "total"),
    )


class OrderDetailView(ScopedDetailView):
    model = Order
    permission_required = "sales.view_order"
    template_name = "sales/order_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        order = context["object"]
        lines = list(order.lines.select_related("product"))
        shipped = orders.shipped_quantities(order)
        for line in lines:
            line.shipped = shipped.get(line.pk, 0)
        user = self.request.user
        status = order.status
        can = {
            "submit": status == OrderStatus.DRAFT and user.has_perm("sales.change_order"),
            "confirm": status == OrderStatus.SUBMITTED and user.has_perm("sales.confirm_order"),
            "send_back": status == OrderStatus.SUBMITTED and user.has_perm("sales.confirm_order"),
            "cancel": (status in (OrderStatus.DRAFT, OrderStatus.SUBMITTED) and user.has_perm("sales.change_order"))
            or (status == OrderStatus.CONFIRMED and user.has_perm("sales.confirm_order")),
            "ship": status in (OrderStatus.CONFIRMED, OrderStatus.PARTIALLY_SHIPPED) and user.has_perm("sales.ship_order"),
            "receipt": user.has_perm("sales.change_order"),
            "invoice": status in (OrderStatus.PARTIALLY_SHIPPED, OrderStatus.SHIPPED, OrderStatus.RECEIVED)
            and user.has_perm("sales.invoice_order"),
            "complete": status == OrderStatus.INVOICED and user.has_perm("sales.invoice_order"),
            "override_credit": user.has_perm("sales.override_credit"),
        }
        shipments = order.shipments.prefetch_related("lines__order_line__product")
        context.update(
            lines=lines,
            shipments=shipments,
            invoices=order.invoices.all(),
            invoiced_fen=orders.invoiced_fen(order),
            gsp_refusals=orders.gsp_refusals(order) if status in (OrderStatus.DRAFT, OrderStatus.SUBMITTED) else [],
            credit_refusal=orders.credit_refusal(order) if status == OrderStatus.SUBMITTED else None,
            can=can,
            reason_form=ReasonForm(),
            confirm_form=ConfirmForm(),
            receipt_form=ReceiptForm(initial={"received_on": today()}),
        )
        if can["ship"]:
            context["ship_form"] = ShipmentForm(initial={"shipped_on": today()})
            context["ship_lines"] = ShipmentLineFormSet(prefix="ship", initial=[
                {"order_line": line.pk, "quantity": line.quantity - line.shipped} for line in lines])
            context["ship_rows"] = list(zip(lines, context["ship_lines"].forms, strict=True))
        if can["invoice"]:
            context["invoice_form"] = InvoiceForm(shipments=shipments, initial={
                "issued_on": today(), "amount": order.total_fen - context["invoiced_fen"]})
        return context
