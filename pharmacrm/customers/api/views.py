from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from pharmacrm.core.api.base import ScopedModelViewSet, ScopedReadOnlyViewSet, expected_version
from pharmacrm.customers import services
from pharmacrm.customers.api.serializers import (
    ContactSerializer,
    InstitutionSerializer,
    InstitutionUpdateSerializer,
)
from pharmacrm.customers.filters import ContactFilter, InstitutionFilter
from pharmacrm.customers.models import Contact, Institution


class InstitutionViewSet(ScopedModelViewSet):
    model = Institution
    queryset = Institution.objects.none()
    serializer_class = InstitutionSerializer
    filterset_class = InstitutionFilter
    select_related = ("division__parent__parent", "owner")

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().retrieve(request, *args, **kwargs)
        response["ETag"] = f'"{response.data["version"]}"'
        return response

    @extend_schema(request=InstitutionUpdateSerializer, responses=InstitutionSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        institution = self.get_object()
        payload = InstitutionUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        changes = {key: value for key, value in payload.validated_data.items() if key != "version"}
        institution = services.update_institution(actor=request.user, institution=institution, changes=changes,
                                                  expected_version=expected_version(request))
        response = Response(InstitutionSerializer(institution).data)
        response["ETag"] = f'"{institution.version}"'
        return response


class ContactViewSet(ScopedReadOnlyViewSet):
    model = Contact
    queryset = Contact.objects.none()
    serializer_class = ContactSerializer
    filterset_class = ContactFilter


def register(router: DefaultRouter) -> None:
    router.register("institutions", InstitutionViewSet, basename="institution")
    router.register("contacts", ContactViewSet, basename="contact")
