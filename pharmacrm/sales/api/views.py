"""Sales API: products, orders with their steps, shipments, invoices and credit limits — the same services,
filters and scope as the pages."""

from __future__ import annotations

from typing import Any

import django_filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from pharmacrm.core.api.base import ScopedModelViewSet, expected_version, require_visible, validated, with_etag
from pharmacrm.core.money import MAX_FEN
from pharmacrm.core.policy import today
from pharmacrm.customers.choices import ProductCategory
from pharmacrm.customers.models import Institution
from pharmacrm.sales import flow, orders, purchases, services
from pharmacrm.sales.choices import (
    DosageForm,
    InvoiceKind,
    PrescriptionClass,
    ProductStatus,
    PurchaseSource,
    ReimbursementClass,
    TherapeuticArea,
)
from pharmacrm.sales.filters import FlowMappingFilter, OrderFilter, ProductFilter
from pharmacrm.sales.models import (
    CreditLimit,
    FlowMapping,
    Invoice,
    Order,
    OrderLine,
    Product,
    Purchase,
    PurchaseMonth,
    Shipment,
    ShipmentLine,
    month_of,
)


class ProductApiFilter(ProductFilter):
    search = django_filters.CharFilter(method="search_text", max_length=100)


class ProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["id", "code", "generic_name", "brand_name", "dosage_form", "strength", "pack", "approval_number",
                  "marketing_authorisation_holder", "therapeutic_area", "prescription_class", "reimbursement_class",
                  "volume_based_procurement", "procurement_price_fen", "list_price_fen", "category", "status",
                  "version", "created_at", "updated_at"]
        read_only_fields = fields


class ProductInputSerializer(serializers.Serializer):
    """Prices in whole fen (分): ``list_price_fen: 12850`` is ¥128.50."""

    code = serializers.CharField(max_length=30)
    generic_name = serializers.CharField(max_length=100)
    brand_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    dosage_form = serializers.ChoiceField(choices=DosageForm.choices)
    strength = serializers.CharField(max_length=50)
    pack = serializers.CharField(max_length=50)
    approval_number = serializers.CharField(max_length=40)
    marketing_authorisation_holder = serializers.CharField(max_length=100)
    therapeutic_area = serializers.ChoiceField(choices=TherapeuticArea.choices)
    prescription_class = serializers.ChoiceField(choices=PrescriptionClass.choices, required=False)
    reimbursement_class = serializers.ChoiceField(choices=ReimbursementClass.choices, required=False)
    volume_based_procurement = serializers.BooleanField(required=False)
    procurement_price_fen = serializers.IntegerField(min_value=0, max_value=MAX_FEN, required=False, allow_null=True)
    list_price_fen = serializers.IntegerField(min_value=0, max_value=MAX_FEN)
    category = serializers.ChoiceField(choices=ProductCategory.choices)
    status = serializers.ChoiceField(choices=ProductStatus.choices, required=False)


class ProductUpdateSerializer(ProductInputSerializer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, partial=True, **kwargs)


def _product_response(product: Product, http_status: int = status.HTTP_200_OK) -> Response:
    return with_etag(ProductSerializer(product).data, product.version, http_status)


class ProductViewSet(ScopedModelViewSet):
    model = Product
    queryset = Product.objects.none()
    serializer_class = ProductSerializer
    filterset_class = ProductApiFilter

    @extend_schema(request=ProductInputSerializer, responses=ProductSerializer)
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = ProductInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        product = services.create_product(actor=request.user, **payload.validated_data)
        return _product_response(product, status.HTTP_201_CREATED)

    @extend_schema(request=ProductUpdateSerializer, responses=ProductSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        product = self.get_object()
        payload = ProductUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        product = services.update_product(actor=request.user, product=product, changes=dict(payload.validated_data),
                                          expected_version=expected_version(request))
        return _product_response(product)




# --- orders ---------------------------------------------------------------------------------------------


class OrderLineSerializer(serializers.ModelSerializer):
    product_name = serializers.CharField(source="product.__str__", read_only=True)

    class Meta:
        model = OrderLine
        fields = ["id", "product", "product_name", "quantity", "unit_price_fen", "discount_fen", "amount_fen"]
        read_only_fields = fields


class OrderSerializer(serializers.ModelSerializer):
    number = serializers.CharField(read_only=True)
    lines = OrderLineSerializer(many=True, read_only=True)

    class Meta:
        model = Order
        fields = ["id", "number", "institution", "distributor", "owner", "status", "ordered_on",
                  "requested_delivery_on", "notes", "total_fen", "status_reason", "confirmed_at",
                  "credit_override_reason", "credit_overridden_by", "lines", "version", "created_at", "updated_at"]
        read_only_fields = fields


class LineInputSerializer(serializers.Serializer):
    product = serializers.PrimaryKeyRelatedField(queryset=Product.objects.all())
    quantity = serializers.IntegerField(min_value=1, max_value=10_000_000)
    unit_price_fen = serializers.IntegerField(min_value=0, max_value=MAX_FEN, required=False, allow_null=True)
    discount_fen = serializers.IntegerField(min_value=0, max_value=MAX_FEN, required=False)


class OrderInputSerializer(serializers.Serializer):
    institution = serializers.PrimaryKeyRelatedField(queryset=Institution.objects.all())
    distributor = serializers.PrimaryKeyRelatedField(queryset=Institution.objects.all(), required=False,
                                                     allow_null=True)
    ordered_on = serializers.DateField(required=False)
    requested_delivery_on = serializers.DateField(required=False, allow_null=True)
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    lines = LineInputSerializer(many=True, allow_empty=False, max_length=500)


class LinesInputSerializer(serializers.Serializer):
    lines = LineInputSerializer(many=True, allow_empty=False, max_length=500)


class OrderReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


#: ids are 64-bit: a larger or negative number is refused on its field (SQLite raised OverflowError → 500, found by
#: make soak's schemathesis run on POST /api/v1/orders/{id}/invoice/)
ID_MAX = 2**63 - 1


class ConfirmSerializer(serializers.Serializer):
    credit_override_reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class ShipmentLineInputSerializer(serializers.Serializer):
    order_line = serializers.IntegerField(min_value=1, max_value=ID_MAX)
    quantity = serializers.IntegerField(min_value=1, max_value=10_000_000)
    batch_number = serializers.CharField(max_length=40)
    expiry_date = serializers.DateField()


class ShipmentInputSerializer(serializers.Serializer):
    shipped_on = serializers.DateField()
    carrier = serializers.CharField(max_length=50)
    tracking_number = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    lines = ShipmentLineInputSerializer(many=True, allow_empty=False, max_length=500)


class ReceiptSerializer(serializers.Serializer):
    received_on = serializers.DateField()
    received_by = serializers.CharField(max_length=50)


class InvoiceInputSerializer(serializers.Serializer):
    number = serializers.CharField(max_length=30)
    issued_on = serializers.DateField()
    amount_fen = serializers.IntegerField(min_value=1, max_value=MAX_FEN)
    kind = serializers.ChoiceField(choices=InvoiceKind.choices)
    shipments = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=ID_MAX), allow_empty=False,
                                      max_length=200)


class ShipmentLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = ShipmentLine
        fields = ["id", "order_line", "quantity", "batch_number", "expiry_date"]
        read_only_fields = fields


class ShipmentSerializer(serializers.ModelSerializer):
    lines = ShipmentLineSerializer(many=True, read_only=True)

    class Meta:
        model = Shipment
        fields = ["id", "order", "shipped_on", "carrier", "tracking_number", "received_on", "received_by", "lines",
                  "version"]
        read_only_fields = fields


class InvoiceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Invoice
        fields = ["id", "order", "number", "issued_on", "amount_fen", "kind", "shipments", "version"]
        read_only_fields = fields


class CreditLimitSerializer(serializers.ModelSerializer):
    open_receivables_fen = serializers.IntegerField(read_only=True)  # orders.with_open_receivables

    class Meta:
        model = CreditLimit
        fields = ["id", "institution", "limit_fen", "note", "open_receivables_fen", "version", "updated_at"]
        read_only_fields = fields


class CreditLimitInputSerializer(serializers.Serializer):
    institution = serializers.PrimaryKeyRelatedField(queryset=Institution.objects.all())
    limit_fen = serializers.IntegerField(min_value=0, max_value=MAX_FEN)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


def _order_response(order: Order, http_status: int = status.HTTP_200_OK) -> Response:
    order = Order.objects.prefetch_related("lines__product").get(pk=order.pk)
    return with_etag(OrderSerializer(order).data, order.version, http_status)



class OrderViewSet(ScopedModelViewSet):
    """Orders and their steps: each action is one service call, gated and audited as on the pages."""

    model = Order
    queryset = Order.objects.none()
    serializer_class = OrderSerializer
    filterset_class = OrderFilter

    def get_queryset(self) -> Any:
        return super().get_queryset().prefetch_related("lines__product")

    @extend_schema(request=OrderInputSerializer, responses=OrderSerializer)
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = validated(OrderInputSerializer, request)
        require_visible(Institution, request.user, data["institution"], "institution")
        order = orders.create_order(actor=request.user, **data)
        return _order_response(order, status.HTTP_201_CREATED)

    @extend_schema(request=LinesInputSerializer, responses=OrderSerializer)
    @action(detail=True, methods=["put"])
    def lines(self, request: Request, pk: str | None = None) -> Response:
        data = validated(LinesInputSerializer, request)
        order = orders.replace_lines(actor=request.user, order=self.get_object(), lines=data["lines"],
                                     expected_version=expected_version(request))
        return _order_response(order)

    @extend_schema(request=None, responses=OrderSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str | None = None) -> Response:
        return _order_response(orders.submit_order(actor=request.user, order=self.get_object()))

    @extend_schema(request=OrderReasonSerializer, responses=OrderSerializer)
    @action(detail=True, methods=["post"], url_path="send-back")
    def send_back(self, request: Request, pk: str | None = None) -> Response:
        data = validated(OrderReasonSerializer, request)
        return _order_response(orders.return_order(actor=request.user, order=self.get_object(), **data))

    @extend_schema(request=ConfirmSerializer, responses=OrderSerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk: str | None = None) -> Response:
        data = validated(ConfirmSerializer, request)
        return _order_response(orders.confirm_order(actor=request.user, order=self.get_object(), **data))

    @extend_schema(request=OrderReasonSerializer, responses=OrderSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        data = validated(OrderReasonSerializer, request)
        return _order_response(orders.cancel_order(actor=request.user, order=self.get_object(), **data))

    @extend_schema(request=ShipmentInputSerializer, responses=ShipmentSerializer)
    @action(detail=True, methods=["post"])
    def ship(self, request: Request, pk: str | None = None) -> Response:
        data = validated(ShipmentInputSerializer, request)
        shipment = orders.record_shipment(actor=request.user, order=self.get_object(), **data)
        return Response(ShipmentSerializer(shipment).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=InvoiceInputSerializer, responses=InvoiceSerializer)
    @action(detail=True, methods=["post"])
    def invoice(self, request: Request, pk: str | None = None) -> Response:
        order = self.get_object()
        data = validated(InvoiceInputSerializer, request)
        shipments = list(Shipment.objects.filter(order=order, pk__in=data.pop("shipments")))
        invoice = orders.record_invoice(actor=request.user, order=order, shipments=shipments, **data)
        return Response(InvoiceSerializer(invoice).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=OrderSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str | None = None) -> Response:
        return _order_response(orders.complete_order(actor=request.user, order=self.get_object()))


class ShipmentViewSet(ScopedModelViewSet):
    model = Shipment
    queryset = Shipment.objects.none()
    serializer_class = ShipmentSerializer

    def get_queryset(self) -> Any:
        return super().get_queryset().prefetch_related("lines")

    @extend_schema(request=ReceiptSerializer, responses=ShipmentSerializer)
    @action(detail=True, methods=["post"])
    def receipt(self, request: Request, pk: str | None = None) -> Response:
        data = validated(ReceiptSerializer, request)
        shipment = orders.confirm_receipt(actor=request.user, shipment=self.get_object(), **data)
        return Response(ShipmentSerializer(shipment).data)


class InvoiceViewSet(ScopedModelViewSet):
    model = Invoice
    queryset = Invoice.objects.none()
    serializer_class = InvoiceSerializer

    def get_queryset(self) -> Any:
        return super().get_queryset().prefetch_related("shipments")


class CreditLimitViewSet(ScopedModelViewSet):
    model = CreditLimit
    queryset = CreditLimit.objects.none()
    serializer_class = CreditLimitSerializer

    def get_queryset(self) -> Any:
        return orders.with_open_receivables(super().get_queryset())

    @extend_schema(request=CreditLimitInputSerializer, responses=CreditLimitSerializer)
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Set (or change) a customer's credit limit: finance only, audited."""
        data = validated(CreditLimitInputSerializer, request)
        require_visible(Institution, request.user, data["institution"], "institution")
        limit = orders.set_credit_limit(actor=request.user, **data)
        return Response(CreditLimitSerializer(self.get_queryset().get(pk=limit.pk)).data,
                        status=status.HTTP_201_CREATED)


# --- purchase history and flow data ------------------------------------------------------------------------


class PurchaseFilter(django_filters.FilterSet):
    institution = django_filters.NumberFilter(field_name="institution_id")
    product = django_filters.NumberFilter(field_name="product_id")
    month_from = django_filters.NumberFilter(field_name="month", lookup_expr="gte", label="yyyymm")
    month_to = django_filters.NumberFilter(field_name="month", lookup_expr="lte", label="yyyymm")

    class Meta:
        model = Purchase
        fields = ["institution", "product", "month_from", "month_to"]


class PurchaseFactFilter(PurchaseFilter):
    source = django_filters.ChoiceFilter(choices=PurchaseSource.choices)

    class Meta(PurchaseFilter.Meta):
        fields = [*PurchaseFilter.Meta.fields, "source"]


class PurchaseMonthFilter(PurchaseFilter):
    class Meta(PurchaseFilter.Meta):
        model = PurchaseMonth


class PurchaseSerializer(serializers.ModelSerializer):
    class Meta:
        model = Purchase
        fields = ["id", "institution", "product", "purchased_on", "month", "quantity", "amount_fen", "source",
                  "distributor", "batch_number", "import_job", "shipment_line"]
        read_only_fields = fields


class PurchaseMonthSerializer(serializers.ModelSerializer):
    last_purchased_on = serializers.DateField(read_only=True)

    class Meta:
        model = PurchaseMonth
        fields = ["institution", "product", "month", "quantity", "amount_fen", "lines", "last_purchased_on"]
        read_only_fields = fields


class PurchaseProfileSerializer(serializers.Serializer):
    institution = serializers.IntegerField()
    amount_12_months_fen = serializers.IntegerField()
    amount_previous_12_months_fen = serializers.IntegerField()
    growth = serializers.FloatField(allow_null=True, help_text="Last 12 months on the 12 before, as a fraction.")
    purchases_12_months = serializers.IntegerField()
    active_months_12 = serializers.IntegerField()
    last_purchased_on = serializers.DateField(allow_null=True)
    by_month = serializers.DictField(child=serializers.IntegerField(), help_text="yyyymm → amount in fen")


class InstitutionQuerySerializer(serializers.Serializer):
    institution = serializers.IntegerField(min_value=1)


class PurchaseViewSet(ScopedModelViewSet):
    """What terminals bought (our deliveries to direct buyers, distributors' flow data), newest first.

    Institution level only. ``monthly`` lists the monthly totals; ``profile`` gives one terminal's key figures.
    """

    model = Purchase
    queryset = Purchase.objects.none()
    serializer_class = PurchaseSerializer
    filterset_class = PurchaseFactFilter

    def get_queryset(self) -> Any:
        return super().get_queryset().order_by("-id")  # the primary key: no sort over millions of rows

    @extend_schema(parameters=[OpenApiParameter(name, int, description=description) for name, description in (
        ("institution", "terminal id"), ("product", "product id"), ("month_from", "yyyymm"), ("month_to", "yyyymm"))],
        responses=PurchaseMonthSerializer(many=True))
    @action(detail=False, methods=["get"], filter_backends=[])
    def monthly(self, request: Request) -> Response:
        queryset = PurchaseMonth.objects.visible_to(request.user).order_by("-month", "institution_id", "product_id")
        queryset = PurchaseMonthFilter(request.query_params, queryset=queryset, request=request)
        if not queryset.is_valid():
            raise serializers.ValidationError(queryset.errors)
        page = self.paginate_queryset(queryset.qs)
        return self.get_paginated_response(PurchaseMonthSerializer(page, many=True).data)

    @extend_schema(parameters=[InstitutionQuerySerializer], responses=PurchaseProfileSerializer)
    @action(detail=False, methods=["get"])
    def profile(self, request: Request) -> Response:
        query = InstitutionQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        institution = Institution.objects.visible_to(request.user).filter(pk=query.validated_data["institution"]).first()
        if institution is None:
            raise serializers.ValidationError({"institution": ["Not found."]})
        result = purchases.profile(institution.pk, until=month_of(today()))
        return Response(PurchaseProfileSerializer({
            "institution": institution.pk, "amount_12_months_fen": result.amount_12,
            "amount_previous_12_months_fen": result.amount_prev_12, "growth": result.growth,
            "purchases_12_months": result.lines_12, "active_months_12": result.active_months_12,
            "last_purchased_on": result.last_purchased_on,
            "by_month": {str(month): amount for month, amount in sorted(result.by_month.items())}}).data)


class FlowMappingSerializer(serializers.ModelSerializer):
    class Meta:
        model = FlowMapping
        fields = ["id", "kind", "name", "city", "status", "institution", "product", "suggestion", "suggestion_score",
                  "pending_rows", "pending_amount_fen", "version", "created_at", "updated_at"]
        read_only_fields = fields


class ResolveInputSerializer(serializers.Serializer):
    institution = serializers.PrimaryKeyRelatedField(queryset=Institution.objects.all(), required=False)
    product = serializers.PrimaryKeyRelatedField(queryset=Product.objects.all(), required=False)


class FlowMappingViewSet(ScopedModelViewSet):
    """The flow-data mapping queue: names no row could be matched by. Flow files are imported through
    ``/api/v1/import-jobs/`` with ``kind=sales.flow``."""

    model = FlowMapping
    queryset = FlowMapping.objects.none()
    serializer_class = FlowMappingSerializer
    filterset_class = FlowMappingFilter

    @extend_schema(request=ResolveInputSerializer, responses=FlowMappingSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str | None = None) -> Response:
        """Map the name (an institution, or a product for a product name); the waiting rows become purchases."""
        data = validated(ResolveInputSerializer, request)
        mapping = self.get_object()
        require_visible(Institution, request.user, data.get("institution"), "institution")
        flow.resolve(actor=request.user, mapping=mapping, **data)
        return Response(FlowMappingSerializer(FlowMapping.objects.get(pk=mapping.pk)).data)


def register(router: DefaultRouter) -> None:
    router.register("products", ProductViewSet, basename="product")
    router.register("orders", OrderViewSet, basename="order")
    router.register("shipments", ShipmentViewSet, basename="shipment")
    router.register("invoices", InvoiceViewSet, basename="invoice")
    router.register("credit-limits", CreditLimitViewSet, basename="creditlimit")
    router.register("purchases", PurchaseViewSet, basename="purchase")
    router.register("flow-mappings", FlowMappingViewSet, basename="flowmapping")
