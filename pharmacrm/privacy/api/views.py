"""Privacy API: the DPO's register of data-subject requests and the personal-data access log."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from pharmacrm.core.api.base import ScopedModelViewSet, ScopedReadOnlyViewSet, validated
from pharmacrm.core.crypto import open_value
from pharmacrm.customers.models import Contact
from pharmacrm.privacy import services
from pharmacrm.privacy.filters import AccessFilter, SubjectRequestFilter
from pharmacrm.privacy.models import (
    AccessPurpose,
    PersonalDataAccess,
    RequestKind,
    RetainedPersonalData,
    SubjectRequest,
)


class SubjectRequestSerializer(serializers.ModelSerializer):
    class Meta:
        model = SubjectRequest
        fields = ["id", "kind", "contact", "received_on", "due_on", "channel", "details", "corrections", "status",
                  "handled_by", "closed_at", "outcome", "version", "created_at"]
        read_only_fields = fields


class SubjectRequestInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=RequestKind.choices)
    contact = serializers.IntegerField(min_value=1)
    received_on = serializers.DateField()
    channel = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    details = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    corrections = serializers.DictField(child=serializers.CharField(max_length=300, allow_blank=True),
                                       required=False, default=dict)


class CompleteSerializer(serializers.Serializer):
    outcome = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    refuse = serializers.BooleanField(required=False, default=False)


class AccessSerializer(serializers.ModelSerializer):
    contact_ids = serializers.ListField(child=serializers.IntegerField(), read_only=True)

    class Meta:
        model = PersonalDataAccess
        fields = ["id", "at", "viewer", "viewer_username", "purpose", "contact_ids", "subject_count", "path",
                  "approved_by", "detail"]
        read_only_fields = fields


class RetainedSerializer(serializers.ModelSerializer):
    identity = serializers.SerializerMethodField()

    class Meta:
        model = RetainedPersonalData
        fields = ["id", "contact", "identity", "reason", "created_at"]
        read_only_fields = fields

    def get_identity(self, obj: RetainedPersonalData) -> dict[str, Any]:
        return json.loads(open_value(obj.sealed_identity))


class SubjectRequestViewSet(ScopedModelViewSet):
    model = SubjectRequest
    queryset = SubjectRequest.objects.none()
    serializer_class = SubjectRequestSerializer
    filterset_class = SubjectRequestFilter
    #: the access copy is for the person, in clear (each one logged in the access log)
    unmasked_actions = ("complete",)

    @extend_schema(request=SubjectRequestInputSerializer, responses=SubjectRequestSerializer)
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = validated(SubjectRequestInputSerializer, request)
        contact = Contact.objects.visible_to(request.user).filter(pk=data.pop("contact")).first()
        if contact is None:
            raise ValidationError({"contact": ["Not found."]})
        created = services.open_request(actor=request.user, contact=contact, **data)
        return Response(SubjectRequestSerializer(created).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CompleteSerializer, responses={200: dict})
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str | None = None) -> Response:
        """Carry out the request (access: the copy is in ``copy``) or refuse it with a reason."""
        data = validated(CompleteSerializer, request)
        subject_request, copy = services.complete_request(actor=request.user, subject_request=self.get_object(),
                                                          **data)
        return Response({"request": SubjectRequestSerializer(subject_request).data, "copy": copy})


class AccessLogViewSet(ScopedReadOnlyViewSet):
    model = PersonalDataAccess
    queryset = PersonalDataAccess.objects.none()
    serializer_class = AccessSerializer
    filterset_class = AccessFilter


class RetainedViewSet(ScopedReadOnlyViewSet):
    """Persons a GxP record keeps after their deletion request: quality assurance only (each read logged)."""

    model = RetainedPersonalData
    queryset = RetainedPersonalData.objects.none()
    serializer_class = RetainedSerializer
    #: QA reads these persons in clear: the one purpose they are kept for (privacy.api.renderers)
    unmasked_actions = ("retrieve", "list")

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().retrieve(request, *args, **kwargs)
        services.log_access(request.user, [response.data["contact"]], AccessPurpose.API_DETAIL, path=request.path)
        return response

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().list(request, *args, **kwargs)
        services.log_access(request.user, [row["contact"] for row in response.data["results"]],
                            AccessPurpose.API_LIST, path=request.get_full_path())
        return response


def register(router: DefaultRouter) -> None:
    router.register("privacy/requests", SubjectRequestViewSet, basename="subjectrequest")
    router.register("privacy/access-log", AccessLogViewSet, basename="personaldataaccess")
    router.register("privacy/retained", RetainedViewSet, basename="retainedpersonaldata")
