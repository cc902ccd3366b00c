"""API of approvals: the requests visible to the user, and deciding one under an electronic signature."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from pharmacrm.core.api.base import ScopedReadOnlyViewSet
from pharmacrm.core.api.errors import error_response
from pharmacrm.core.approvals import SignatureRefused, awaiting_decision, decide, signature_is_valid
from pharmacrm.core.models import ApprovalRequest, ApprovalStep, Signature


class SignatureSerializer(serializers.ModelSerializer):
    valid = serializers.SerializerMethodField(help_text="False once the signed record was edited after signing")

    class Meta:
        model = Signature
        fields = ["id", "signer", "printed_name", "meaning", "signed_at", "content_hash", "valid"]

    def get_valid(self, signature: Signature) -> bool:
        return signature_is_valid(signature)


class ApprovalStepSerializer(serializers.ModelSerializer):
    signature = SignatureSerializer(read_only=True)

    class Meta:
        model = ApprovalStep
        fields = ["position", "role", "decision", "decided_by", "decided_at", "comment", "signature"]


class ApprovalRequestSerializer(serializers.ModelSerializer):
    subject_type = serializers.CharField(source="subject_type.model", read_only=True)
    steps = ApprovalStepSerializer(many=True, read_only=True)

    class Meta:
        model = ApprovalRequest
        fields = ["id", "kind", "title", "status", "current_position", "subject_type", "subject_id",
                  "requested_by", "created_at", "decided_at", "version", "steps"]


class DecisionInputSerializer(serializers.Serializer):
    approve = serializers.BooleanField()
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    password = serializers.CharField(required=False, allow_blank=True, max_length=128, trim_whitespace=False,
                                     default="", help_text="The signer's current password (re-authentication)")


class ApprovalRequestViewSet(ScopedReadOnlyViewSet):
    """Approvals the user requested or has a step in (all for head-office scope); `?awaiting=1` = mine to decide."""

    model = ApprovalRequest
    queryset = ApprovalRequest.objects.none()
    serializer_class = ApprovalRequestSerializer
    permission_classes = [IsAuthenticated]  # rows are scoped by visible_to; deciding checks the step's role

    def get_queryset(self) -> Any:
        queryset = super().get_queryset().select_related("subject_type").prefetch_related(
            "steps__signature__content_type")
        if self.request.query_params.get("awaiting") in ("1", "true"):
            queryset = queryset.filter(pk__in=awaiting_decision(self.request.user).values("pk"))
        return queryset.order_by("-id")

    @extend_schema(request=DecisionInputSerializer, responses=ApprovalRequestSerializer)
    @action(detail=True, methods=["post"])
    def decide(self, request: Request, pk: str | None = None) -> Response:
        approval = self.get_object()
        payload = DecisionInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        try:
            approval = decide(actor=request.user, approval=approval, approve=data["approve"],
                              comment=data["comment"], password=data["password"])
        except SignatureRefused as exc:
            return error_response("signature_refused", str(exc), status.HTTP_403_FORBIDDEN,
                                  {"password": [str(exc)]})
        return Response(ApprovalRequestSerializer(self.get_queryset().get(pk=approval.pk)).data)


def register(router: DefaultRouter) -> None:
    router.register("approvals", ApprovalRequestViewSet, basename="approvalrequest")
