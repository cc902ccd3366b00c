"""API of approvals: the requests visible to the user, and deciding one under an electronic signature."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from pharmacrm.core.api.base import ScopedReadOnlyViewSet
from pharmacrm.core.api.signatures import SignatureSerializer, signing_refused
from pharmacrm.core.approvals import awaiting_decision, decide
from pharmacrm.core.models import ApprovalRequest, ApprovalStep
from pharmacrm.core.signatures import SignatureRefused, continuity_of


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
    username = serializers.CharField(required=False, allow_blank=True, max_length=150, default="",
                                     help_text="The signer's username: required at the first signing of a session "
                                               "and always with token authentication (21 CFR 11.200(a)(1))")
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
                              comment=data["comment"], password=data["password"], username=data["username"] or None,
                              continuity=continuity_of(request))
        except SignatureRefused as exc:
            return signing_refused(exc)
        return Response(ApprovalRequestSerializer(self.get_queryset().get(pk=approval.pk)).data)


def register(router: DefaultRouter) -> None:
    router.register("approvals", ApprovalRequestViewSet, basename="approvalrequest")
