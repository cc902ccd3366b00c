"""Customer API: the same services, filters, search (``?search=``) and scope as the pages."""

from __future__ import annotations

from typing import Any

import django_filters
from django.core.exceptions import ValidationError
from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from pharmacrm.core.api.base import ScopedModelViewSet, expected_version, require_visible, with_etag
from pharmacrm.customers import qualification, services, stewardship
from pharmacrm.customers.api.serializers import (
    ChangeRequestSerializer,
    ContactInputSerializer,
    ContactSerializer,
    DecisionSerializer,
    InstitutionInputSerializer,
    InstitutionSerializer,
    LicenceInputSerializer,
    LicenceSerializer,
)
from pharmacrm.customers.choices import ProductCategory
from pharmacrm.customers.filters import ChangeRequestFilter, ContactFilter, InstitutionFilter, LicenceFilter
from pharmacrm.customers.models import ChangeRequest, Contact, Institution, Licence
from pharmacrm.privacy.models import AccessPurpose
from pharmacrm.privacy.services import log_access


class InstitutionApiFilter(InstitutionFilter):
    search = django_filters.CharFilter(method="search_text", max_length=100)


class ContactApiFilter(ContactFilter):
    search = django_filters.CharFilter(method="search_text", max_length=50)


class InstitutionViewSet(ScopedModelViewSet):
    model = Institution
    queryset = Institution.objects.none()
    serializer_class = InstitutionSerializer
    filterset_class = InstitutionApiFilter
    select_related = ("division__parent__parent", "owner")

    def get_queryset(self) -> Any:
        queryset = super().get_queryset().prefetch_related("tags")
        return queryset if self.action != "list" else queryset.live()

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().retrieve(request, *args, **kwargs)
        response["ETag"] = f'"{response.data["version"]}"'
        return response

    @extend_schema(request=InstitutionInputSerializer, responses=InstitutionSerializer)
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = InstitutionInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        changes = payload.changes()
        require_visible(Institution, request.user, changes.get("parent"), "parent")
        institution = services.create_institution(
            actor=request.user, tags=payload.validated_data.get("tags", []),
            acknowledge_duplicates=payload.validated_data["acknowledge_duplicates"], **changes)
        return with_etag(InstitutionSerializer(institution).data, institution.version, status.HTTP_201_CREATED)

    @extend_schema(request=InstitutionInputSerializer, responses=InstitutionSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        institution = self.get_object()
        payload = InstitutionInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        changes = payload.changes()
        require_visible(Institution, request.user, changes.get("parent"), "parent")
        with transaction.atomic():
            institution = services.update_institution(
                actor=request.user, institution=institution, changes=changes,
                expected_version=expected_version(request), reason=payload.validated_data.get("reason", ""))
            if "tags" in payload.validated_data:
                services.set_tags(actor=request.user, institution=institution, names=payload.validated_data["tags"])
        data = InstitutionSerializer(institution).data
        change_request = getattr(institution, "pending_change_request", None)
        data["change_request"] = change_request.pk if change_request else None
        return with_etag(data, institution.version)

    @extend_schema(parameters=[OpenApiParameter("category", str, enum=ProductCategory.values, required=True)])
    @action(detail=True, methods=["get"])
    def qualification(self, request: Request, pk: str | None = None) -> Response:
        """May we sell this drug category to this customer today? (GSP 第八十九至九十条)"""
        institution = self.get_object()
        category = request.query_params.get("category", "")
        if category not in ProductCategory.values:
            raise ValidationError({"category": [f"Choose one of: {', '.join(ProductCategory.values)}"]})
        check = qualification.is_qualified_for(institution, category)
        return Response({"ok": check.ok, "status": check.status, "reasons": check.reasons})


class ContactViewSet(ScopedModelViewSet):
    model = Contact
    queryset = Contact.objects.none()
    serializer_class = ContactSerializer
    filterset_class = ContactApiFilter
    select_related = ("institution",)
    #: the audited reveal answers in clear to the roles entitled to it (privacy.api.renderers)
    unmasked_actions = ("reveal",)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Each list request is logged with the ids it returned (PIPL Art.55)."""
        response = super().list(request, *args, **kwargs)
        rows = response.data.get("results", response.data) if isinstance(response.data, dict) else response.data
        log_access(request.user, [row["id"] for row in rows], AccessPurpose.API_LIST, path=request.get_full_path())
        return response

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().retrieve(request, *args, **kwargs)
        log_access(request.user, [response.data["id"]], AccessPurpose.API_DETAIL, path=request.path)
        return response

    @extend_schema(request=ContactInputSerializer, responses=ContactSerializer)
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = ContactInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        fields = {key: value for key, value in payload.validated_data.items() if key != "version"}
        institution = fields.pop("institution", None)
        if institution is None:
            raise ValidationError({"institution": ["This field is required."]})
        require_visible(Institution, request.user, institution, "institution")
        contact = services.create_contact(actor=request.user, institution=institution, **fields)
        return with_etag(ContactSerializer(contact).data, contact.version, status.HTTP_201_CREATED)

    @extend_schema(request=ContactInputSerializer, responses=ContactSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        contact = self.get_object()
        payload = ContactInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        changes = {key: value for key, value in payload.validated_data.items()
                   if key not in ("version", "institution", "sensitive_consent")}
        contact = services.update_contact(actor=request.user, contact=contact, changes=changes,
                                          expected_version=expected_version(request),
                                          sensitive_consent=payload.validated_data.get("sensitive_consent", ""))
        return with_etag(ContactSerializer(contact).data, contact.version)

    @extend_schema(request=None, responses={200: dict})
    @action(detail=True, methods=["post"])
    def reveal(self, request: Request, pk: str | None = None) -> Response:
        """The contact's personal data in clear, for roles entitled to it; every call is audited."""
        contact = self.get_object()
        data = services.reveal_personal_data(actor=request.user, contact=contact, purpose="api")
        return Response(data)


class LicenceViewSet(ScopedModelViewSet):
    model = Licence
    queryset = Licence.objects.none()
    serializer_class = LicenceSerializer
    filterset_class = LicenceFilter
    select_related = ("institution",)

    @extend_schema(request=LicenceInputSerializer, responses=LicenceSerializer)
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = LicenceInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        fields = dict(payload.validated_data)
        institution = fields.pop("institution")
        require_visible(Institution, request.user, institution, "institution")
        licence = qualification.add_licence(actor=request.user, institution=institution, **fields)
        return with_etag(LicenceSerializer(licence).data, licence.version, status.HTTP_201_CREATED)

    @extend_schema(request=DecisionSerializer, responses=LicenceSerializer)
    @action(detail=True, methods=["post"])
    def review(self, request: Request, pk: str | None = None) -> Response:
        licence = self.get_object()
        payload = DecisionSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        licence = qualification.review_licence(actor=request.user, licence=licence,
                                               approve=payload.validated_data["approve"],
                                               comment=payload.validated_data["comment"],
                                               expected_version=expected_version(request))
        return with_etag(LicenceSerializer(licence).data, licence.version)


class ChangeRequestViewSet(ScopedModelViewSet):
    model = ChangeRequest
    queryset = ChangeRequest.objects.none()
    serializer_class = ChangeRequestSerializer
    filterset_class = ChangeRequestFilter
    select_related = ("institution",)

    @extend_schema(request=DecisionSerializer, responses=ChangeRequestSerializer)
    @action(detail=True, methods=["post"])
    def decide(self, request: Request, pk: str | None = None) -> Response:
        change_request = self.get_object()
        payload = DecisionSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        change_request = stewardship.decide_change(actor=request.user, change_request=change_request,
                                                   approve=payload.validated_data["approve"],
                                                   comment=payload.validated_data["comment"])
        return Response(ChangeRequestSerializer(change_request).data)


def register(router: DefaultRouter) -> None:
    router.register("customers", InstitutionViewSet, basename="customer")
    router.register("institutions", InstitutionViewSet, basename="institution")  # the name issue 2 shipped
    router.register("contacts", ContactViewSet, basename="contact")
    router.register("licences", LicenceViewSet, basename="licence")
    router.register("change-requests", ChangeRequestViewSet, basename="changerequest")
