"""Samples API under ``/api/v1/samples/…``: the same services and scope as the pages.

lots · inventory (balances) · movements (the ledger; ``returns/`` and ``adjustments/`` book new ones) ·
receipts and transfers (``confirm/``, ``cancel/``) · disbursements · reconciliations (``submit/``, ``approve/``,
``send-back/``).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from pharmacrm.core.api.base import ScopedModelViewSet, expected_version, require_visible, validated
from pharmacrm.customers.models import Contact, Institution
from pharmacrm.org.models import User
from pharmacrm.sales.models import Product
from pharmacrm.samples import services
from pharmacrm.samples.choices import TransferKind
from pharmacrm.samples.models import (
    Disbursement,
    Reconciliation,
    ReconciliationLine,
    SampleLot,
    StockBalance,
    StockMovement,
    StockTransfer,
)
from pharmacrm.samples.services import MAX_QUANTITY, MAX_SIGNATURE_BYTES

# --- lots ------------------------------------------------------------------------------------------------------


class SampleLotSerializer(serializers.ModelSerializer):
    product_name = serializers.CharField(source="product.__str__", read_only=True)

    class Meta:
        model = SampleLot
        fields = ["id", "product", "product_name", "batch_number", "expiry_date", "notes", "version", "created_at"]
        read_only_fields = fields


class SampleLotInputSerializer(serializers.Serializer):
    product = serializers.PrimaryKeyRelatedField(queryset=Product.objects.all())
    batch_number = serializers.CharField(max_length=40)
    expiry_date = serializers.DateField()
    notes = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class SampleLotUpdateSerializer(serializers.Serializer):
    batch_number = serializers.CharField(max_length=40, required=False)
    expiry_date = serializers.DateField(required=False)
    notes = serializers.CharField(max_length=200, required=False, allow_blank=True)


class LotViewSet(ScopedModelViewSet):
    model = SampleLot
    queryset = SampleLot.objects.none()
    serializer_class = SampleLotSerializer
    select_related = ("product",)

    @extend_schema(request=SampleLotInputSerializer, responses=SampleLotSerializer)
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = validated(SampleLotInputSerializer, request)
        require_visible(Product, request.user, data["product"], "product")
        lot = services.create_lot(actor=request.user, **data)
        return Response(SampleLotSerializer(lot).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SampleLotUpdateSerializer, responses=SampleLotSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = validated(SampleLotUpdateSerializer, request)
        lot = services.update_lot(actor=request.user, lot=self.get_object(), changes=data,
                                  expected_version=expected_version(request))
        return Response(SampleLotSerializer(lot).data)


# --- inventory and ledger ----------------------------------------------------------------------------------------


class SampleBalanceSerializer(serializers.ModelSerializer):
    lot = SampleLotSerializer(read_only=True)

    class Meta:
        model = StockBalance
        fields = ["id", "holder", "lot", "quantity"]
        read_only_fields = fields


class InventoryViewSet(ScopedModelViewSet):
    """Stock per rep × lot (``?holder=<id>`` narrows to one rep; rows at zero are left out)."""

    model = StockBalance
    queryset = StockBalance.objects.none()
    serializer_class = SampleBalanceSerializer
    select_related = ("lot__product",)

    def get_queryset(self) -> Any:
        rows = super().get_queryset().exclude(quantity=0).order_by("lot__expiry_date", "id")
        holder = self.request.query_params.get("holder", "")
        return rows.filter(holder_id=int(holder)) if holder.isdigit() else rows


class SampleMovementSerializer(serializers.ModelSerializer):
    class Meta:
        model = StockMovement
        fields = ["id", "holder", "lot", "kind", "quantity", "reason", "created_at", "created_by", "transfer",
                  "disbursement", "reconciliation"]
        read_only_fields = fields


class SampleReturnInputSerializer(serializers.Serializer):
    lot = serializers.PrimaryKeyRelatedField(queryset=SampleLot.objects.all())
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class SampleAdjustmentInputSerializer(serializers.Serializer):
    holder = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), required=False,
                                                help_text="Head office only; a rep adjusts their own stock.")
    lot = serializers.PrimaryKeyRelatedField(queryset=SampleLot.objects.all())
    quantity = serializers.IntegerField(min_value=-MAX_QUANTITY, max_value=MAX_QUANTITY)
    reason = serializers.CharField(max_length=300)


class MovementViewSet(ScopedModelViewSet):
    """The ledger, read-only; returns and adjustments append to it."""

    model = StockMovement
    queryset = StockMovement.objects.none()
    serializer_class = SampleMovementSerializer

    @extend_schema(request=SampleReturnInputSerializer, responses=SampleMovementSerializer)
    @action(detail=False, methods=["post"])
    def returns(self, request: Request) -> Response:
        data = validated(SampleReturnInputSerializer, request)
        movement = services.return_stock(actor=request.user, **data)
        return Response(SampleMovementSerializer(movement).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SampleAdjustmentInputSerializer, responses=SampleMovementSerializer)
    @action(detail=False, methods=["post"])
    def adjustments(self, request: Request) -> Response:
        data = validated(SampleAdjustmentInputSerializer, request)
        holder = data.pop("holder", None) or request.user
        movement = services.adjust_stock(actor=request.user, holder=holder, **data)
        return Response(SampleMovementSerializer(movement).data, status=status.HTTP_201_CREATED)


# --- receipts and transfers --------------------------------------------------------------------------------------


class SampleTransferSerializer(serializers.ModelSerializer):
    class Meta:
        model = StockTransfer
        fields = ["id", "kind", "lot", "quantity", "from_holder", "to_holder", "status", "note", "status_reason",
                  "confirmed_at", "version", "created_at"]
        read_only_fields = fields


class SampleTransferInputSerializer(serializers.Serializer):
    lot = serializers.PrimaryKeyRelatedField(queryset=SampleLot.objects.all())
    to_holder = serializers.PrimaryKeyRelatedField(queryset=User.objects.all())
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class SampleReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class TransferViewSet(ScopedModelViewSet):
    """Transfers between reps: POST sends (it leaves your stock now), the recipient confirms."""

    model = StockTransfer
    queryset = StockTransfer.objects.none()
    serializer_class = SampleTransferSerializer
    kind = TransferKind.TRANSFER

    def get_queryset(self) -> Any:
        return super().get_queryset().filter(kind=self.kind)

    def _create(self, request: Request) -> StockTransfer:
        return services.create_transfer(actor=request.user, **validated(SampleTransferInputSerializer, request))

    @extend_schema(request=SampleTransferInputSerializer, responses=SampleTransferSerializer)
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(SampleTransferSerializer(self._create(request)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=SampleTransferSerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk: str | None = None) -> Response:
        return Response(SampleTransferSerializer(services.confirm_transfer(actor=request.user,
                                                                     transfer=self.get_object())).data)

    @extend_schema(request=SampleReasonSerializer, responses=SampleTransferSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        data = validated(SampleReasonSerializer, request)
        return Response(SampleTransferSerializer(services.cancel_transfer(actor=request.user, transfer=self.get_object(),
                                                                    **data)).data)


class ReceiptViewSet(TransferViewSet):
    """Receipts from head office: head office POSTs (dispatch), the rep confirms receipt before it counts."""

    kind = TransferKind.RECEIPT

    def _create(self, request: Request) -> StockTransfer:
        return services.dispatch_receipt(actor=request.user, **validated(SampleTransferInputSerializer, request))


# --- disbursements ---------------------------------------------------------------------------------------------


class SampleDisbursementSerializer(serializers.ModelSerializer):
    number = serializers.CharField(read_only=True)
    signature_url = serializers.SerializerMethodField()

    class Meta:
        model = Disbursement
        fields = ["id", "number", "holder", "lot", "quantity", "contact", "institution", "disbursed_at", "place",
                  "notes", "signature", "signature_url", "created_at"]
        read_only_fields = fields

    def get_signature_url(self, obj: Disbursement) -> str | None:
        return obj.signature.get_absolute_url() if obj.signature_id else None


class SampleDisbursementInputSerializer(serializers.Serializer):
    contact = serializers.PrimaryKeyRelatedField(queryset=Contact.objects.all())
    institution = serializers.PrimaryKeyRelatedField(queryset=Institution.objects.all(), required=False,
                                                     allow_null=True)
    lot = serializers.PrimaryKeyRelatedField(queryset=SampleLot.objects.all())
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)
    place = serializers.CharField(max_length=200)
    disbursed_at = serializers.DateTimeField(required=False, allow_null=True)
    notes = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    signature = serializers.CharField(allow_blank=True, max_length=MAX_SIGNATURE_BYTES * 2,
                                      help_text="The recipient's signature: a PNG as base64 or a data: URL.")


class DisbursementViewSet(ScopedModelViewSet):
    model = Disbursement
    queryset = Disbursement.objects.none()
    serializer_class = SampleDisbursementSerializer

    @extend_schema(request=SampleDisbursementInputSerializer, responses=SampleDisbursementSerializer)
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = validated(SampleDisbursementInputSerializer, request)
        require_visible(Contact, request.user, data["contact"], "contact")
        require_visible(Institution, request.user, data.get("institution"), "institution")
        disbursement = services.disburse(actor=request.user, **data)
        return Response(SampleDisbursementSerializer(disbursement).data, status=status.HTTP_201_CREATED)


# --- reconciliations -------------------------------------------------------------------------------------------


class SampleReconciliationLineSerializer(serializers.ModelSerializer):
    difference = serializers.IntegerField(read_only=True)

    class Meta:
        model = ReconciliationLine
        fields = ["id", "lot", "expected", "counted", "difference", "reason"]
        read_only_fields = fields


class SampleReconciliationSerializer(serializers.ModelSerializer):
    number = serializers.CharField(read_only=True)
    lines = SampleReconciliationLineSerializer(many=True, read_only=True)

    class Meta:
        model = Reconciliation
        fields = ["id", "number", "holder", "counted_on", "status", "note", "status_reason", "decided_by",
                  "decided_at", "lines", "version", "created_at"]
        read_only_fields = fields


class SampleCountInputSerializer(serializers.Serializer):
    lot = serializers.PrimaryKeyRelatedField(queryset=SampleLot.objects.all())
    counted = serializers.IntegerField(min_value=0, max_value=MAX_QUANTITY)
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class SampleReconciliationInputSerializer(serializers.Serializer):
    counted_on = serializers.DateField(required=False)
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    lines = SampleCountInputSerializer(many=True, max_length=1000)


class ReconciliationViewSet(ScopedModelViewSet):
    """A rep's count (POST creates and submits it); the manager approves or sends it back; a sent-back count is
    submitted again with ``submit/``."""

    model = Reconciliation
    queryset = Reconciliation.objects.none()
    serializer_class = SampleReconciliationSerializer

    def get_queryset(self) -> Any:
        return super().get_queryset().prefetch_related("lines")

    def _response(self, reconciliation: Reconciliation, http_status: int = status.HTTP_200_OK) -> Response:
        fresh = Reconciliation.objects.prefetch_related("lines").get(pk=reconciliation.pk)
        return Response(SampleReconciliationSerializer(fresh).data, status=http_status)

    @extend_schema(request=SampleReconciliationInputSerializer, responses=SampleReconciliationSerializer)
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = validated(SampleReconciliationInputSerializer, request)
        reconciliation = services.submit_reconciliation(actor=request.user, counts=data.pop("lines"), **data)
        return self._response(reconciliation, status.HTTP_201_CREATED)

    @extend_schema(request=SampleReconciliationInputSerializer, responses=SampleReconciliationSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str | None = None) -> Response:
        reconciliation = self.get_object()
        data = validated(SampleReconciliationInputSerializer, request)
        return self._response(services.submit_reconciliation(actor=request.user, counts=data.pop("lines"),
                                                             reconciliation=reconciliation, **data))

    @extend_schema(request=None, responses=SampleReconciliationSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        return self._response(services.approve_reconciliation(actor=request.user, reconciliation=self.get_object()))

    @extend_schema(request=SampleReasonSerializer, responses=SampleReconciliationSerializer)
    @action(detail=True, methods=["post"], url_path="send-back")
    def send_back(self, request: Request, pk: str | None = None) -> Response:
        data = validated(SampleReasonSerializer, request)
        return self._response(services.send_back_reconciliation(actor=request.user, reconciliation=self.get_object(),
                                                                **data))


def register(router: DefaultRouter) -> None:
    router.register("samples/lots", LotViewSet, basename="samplelot")
    router.register("samples/inventory", InventoryViewSet, basename="stockbalance")
    router.register("samples/movements", MovementViewSet, basename="stockmovement")
    router.register("samples/receipts", ReceiptViewSet, basename="samplereceipt")
    router.register("samples/transfers", TransferViewSet, basename="stocktransfer")
    router.register("samples/disbursements", DisbursementViewSet, basename="disbursement")
    router.register("samples/reconciliations", ReconciliationViewSet, basename="reconciliation")
