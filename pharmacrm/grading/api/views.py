"""Grading API under ``/api/v1/grading/…``: the same services and scope as the pages.

classifications (each customer's classes with their inputs and scores; filter by class) · changes (history) ·
rules (versions; ``POST`` drafts, ``PATCH`` changes a draft, ``preview/``, ``submit/``) · runs (``POST`` starts
one) · strategies (``PATCH`` by marketing).
"""

from __future__ import annotations

from typing import Any

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from pharmacrm.core.api.base import ScopedModelViewSet, expected_version
from pharmacrm.grading import services
from pharmacrm.grading.choices import ChangeReason, DepthClass, Dimension, Grade, SizeClass, TenureClass
from pharmacrm.grading.models import Classification, GradeChange, GradingRun, RuleVersion, Strategy


class ClassificationSerializer(serializers.ModelSerializer):
    institution_name = serializers.CharField(source="institution.name", read_only=True)
    rules = serializers.SerializerMethodField()

    class Meta:
        model = Classification
        fields = ["institution", "institution_name", "as_of", "run", "size", "tenure", "depth", "grade",
                  "grade_score", "ka_score", "ka_rank", "amount_12_fen", "amount_prev_12_fen", "lines_12",
                  "last_month", "cooperation_since", "since_first_purchase", "category_total_fen", "credit",
                  "volume_percentile", "s_volume", "s_growth", "s_frequency", "s_recency", "s_tenure", "s_credit",
                  "s_influence", "rules"]
        read_only_fields = fields

    def get_rules(self, row: Classification) -> dict[str, int]:
        """dimension → rule version id that decided it."""
        return {"size": row.size_rule_id, "tenure": row.tenure_rule_id, "depth": row.depth_rule_id,
                "grade": row.grade_rule_id, "key_account": row.ka_rule_id}

    def to_representation(self, row: Classification) -> dict[str, Any]:
        data = super().to_representation(row)
        request = self.context.get("request")
        if request is not None and not request.user.has_perm("sales.view_purchase"):
            for field in ("amount_12_fen", "amount_prev_12_fen", "category_total_fen"):  # DOMAIN.md 2.1
                data[field] = None
        return data


class ClassificationFilter(django_filters.FilterSet):
    size = django_filters.ChoiceFilter(choices=SizeClass.choices)
    tenure = django_filters.ChoiceFilter(choices=TenureClass.choices)
    depth = django_filters.ChoiceFilter(choices=DepthClass.choices)
    grade = django_filters.ChoiceFilter(choices=Grade.choices)
    candidate = django_filters.BooleanFilter(field_name="ka_rank", lookup_expr="isnull", exclude=True)

    class Meta:
        model = Classification
        fields = ["institution", "size", "tenure", "depth", "grade", "candidate"]


class ClassificationViewSet(ScopedModelViewSet):
    """Each customer's classes as of the last run, by customer id."""

    model = Classification
    queryset = Classification.objects.none()
    serializer_class = ClassificationSerializer
    filterset_class = ClassificationFilter
    select_related = ("institution",)

    def get_queryset(self) -> Any:
        return super().get_queryset().order_by("institution_id")


class GradeChangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = GradeChange
        fields = ["id", "institution", "run", "changed_on", "dimension", "old", "new", "reason", "old_rule",
                  "new_rule"]
        read_only_fields = fields


class GradeChangeFilter(django_filters.FilterSet):
    dimension = django_filters.ChoiceFilter(choices=Dimension.choices)
    reason = django_filters.ChoiceFilter(choices=ChangeReason.choices)

    class Meta:
        model = GradeChange
        fields = ["institution", "run", "dimension", "reason"]


class GradeChangeViewSet(ScopedModelViewSet):
    model = GradeChange
    queryset = GradeChange.objects.none()
    serializer_class = GradeChangeSerializer
    filterset_class = GradeChangeFilter

    def get_queryset(self) -> Any:
        return super().get_queryset().order_by("-id")


class RuleVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = RuleVersion
        fields = ["id", "dimension", "number", "effective_from", "parameters", "status", "note", "created_by",
                  "approval", "published_at", "preview", "version"]
        read_only_fields = fields


class DraftSerializer(serializers.Serializer):
    dimension = serializers.ChoiceField(choices=Dimension.choices)
    effective_from = serializers.DateField()
    parameters = serializers.DictField(child=serializers.IntegerField(), allow_empty=True,
                                       help_text="Parameter values; those left out keep the seed defaults.")
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class DraftUpdateSerializer(serializers.Serializer):
    effective_from = serializers.DateField()
    parameters = serializers.DictField(child=serializers.IntegerField(), allow_empty=True)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class RuleVersionViewSet(ScopedModelViewSet):
    """Rule versions, newest first. A draft is previewed, then submitted for leadership's approval."""

    model = RuleVersion
    queryset = RuleVersion.objects.none()
    serializer_class = RuleVersionSerializer
    filterset_fields = ["dimension", "status"]

    def get_queryset(self) -> Any:
        return super().get_queryset().order_by("-id")

    @extend_schema(request=DraftSerializer, responses=RuleVersionSerializer)
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = DraftSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        version = services.draft_version(actor=request.user, **payload.validated_data)
        return Response(RuleVersionSerializer(version).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=DraftUpdateSerializer, responses=RuleVersionSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = DraftUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        version = services.update_draft(actor=request.user, version=self.get_object(),
                                        expected_version=expected_version(request), **payload.validated_data)
        return Response(RuleVersionSerializer(version).data)

    @extend_schema(request=None, responses=RuleVersionSerializer)
    @action(detail=True, methods=["post"])
    def preview(self, request: Request, pk: str | None = None) -> Response:
        return Response(RuleVersionSerializer(services.preview_version(actor=request.user,
                                                                        version=self.get_object())).data)

    @extend_schema(request=None, responses=RuleVersionSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str | None = None) -> Response:
        return Response(RuleVersionSerializer(services.submit_version(actor=request.user,
                                                                       version=self.get_object())).data)


class GradingRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = GradingRun
        fields = ["id", "kind", "as_of", "status", "started_by", "created_at", "finished_at", "customers", "changes",
                  "rules", "error"]
        read_only_fields = fields


class GradingRunViewSet(ScopedModelViewSet):
    """Runs, newest first; ``POST`` starts a recompute of every customer (the worker computes it)."""

    model = GradingRun
    queryset = GradingRun.objects.none()
    serializer_class = GradingRunSerializer

    def get_queryset(self) -> Any:
        return super().get_queryset().order_by("-id")

    @extend_schema(request=None, responses=GradingRunSerializer)
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        run = services.request_run(actor=request.user)
        return Response(GradingRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class StrategySerializer(serializers.ModelSerializer):
    klass_label = serializers.CharField(read_only=True)

    class Meta:
        model = Strategy
        fields = ["id", "dimension", "klass", "klass_label", "visit_every_days", "contacts_per_month",
                  "service_package", "content_cadence", "version"]
        read_only_fields = ["id", "dimension", "klass", "version"]


class StrategyUpdateSerializer(serializers.Serializer):
    visit_every_days = serializers.IntegerField(min_value=1, max_value=3660, required=False, allow_null=True)
    contacts_per_month = serializers.IntegerField(min_value=0, max_value=100, required=False, allow_null=True)
    service_package = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    content_cadence = serializers.CharField(max_length=200, required=False, allow_blank=True)


class StrategyViewSet(mixins.UpdateModelMixin, ScopedModelViewSet):
    """What each class calls for; read by the engagement and service modules."""

    model = Strategy
    queryset = Strategy.objects.none()
    serializer_class = StrategySerializer
    http_method_names = ["get", "patch", "head", "options"]

    @extend_schema(request=StrategyUpdateSerializer, responses=StrategySerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = StrategyUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        strategy = services.update_strategy(actor=request.user, strategy=self.get_object(),
                                            changes=dict(payload.validated_data),
                                            expected_version=expected_version(request))
        return Response(StrategySerializer(strategy).data)


def register(router: DefaultRouter) -> None:
    router.register("grading/classifications", ClassificationViewSet, basename="classification")
    router.register("grading/changes", GradeChangeViewSet, basename="gradechange")
    router.register("grading/rules", RuleVersionViewSet, basename="ruleversion")
    router.register("grading/runs", GradingRunViewSet, basename="gradingrun")
    router.register("grading/strategies", StrategyViewSet, basename="strategy")
