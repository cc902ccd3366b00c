"""Catalogue API: ``/api/v1/products/`` — the same filters, search (``?search=``) and services as the pages."""

from __future__ import annotations

from typing import Any

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from pharmacrm.core.api.base import ScopedModelViewSet, expected_version
from pharmacrm.core.money import MAX_FEN
from pharmacrm.customers.choices import ProductCategory
from pharmacrm.sales import services
from pharmacrm.sales.choices import DosageForm, PrescriptionClass, ProductStatus, ReimbursementClass, TherapeuticArea
from pharmacrm.sales.filters import ProductFilter
from pharmacrm.sales.models import Product


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


def _with_etag(product: Product, http_status: int = status.HTTP_200_OK) -> Response:
    response = Response(ProductSerializer(product).data, status=http_status)
    response["ETag"] = f'"{product.version}"'
    return response


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
        return _with_etag(product, status.HTTP_201_CREATED)

    @extend_schema(request=ProductUpdateSerializer, responses=ProductSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        product = self.get_object()
        payload = ProductUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        product = services.update_product(actor=request.user, product=product, changes=dict(payload.validated_data),
                                          expected_version=expected_version(request))
        return _with_etag(product)


def register(router: DefaultRouter) -> None:
    router.register("products", ProductViewSet, basename="product")
