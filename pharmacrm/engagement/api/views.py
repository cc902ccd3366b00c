"""Engagement API: ``/api/v1/visit-plans/`` (``lines/``, ``add-line/``, ``submit/``, ``approve/``, ``return/``),
``/api/v1/visits/`` (``check-in/``, ``check-out/``, ``report/``, ``submit/``, ``review/``,
``amend/``, ``cancel/``), ``/api/v1/communications/``, ``/api/v1/tasks/`` (``close/``, ``cancel/``) — the same
services and scope as the pages."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from pharmacrm.core.api.base import ScopedModelViewSet, expected_version, require_visible, validated, with_etag
from pharmacrm.customers.models import Contact, Institution
from pharmacrm.engagement import plans, services
from pharmacrm.engagement.choices import VISIT_CHANNELS, Channel, Direction, PlanPeriod, VisitKind
from pharmacrm.engagement.models import (
    MAX_NOTE,
    Communication,
    FollowUp,
    Visit,
    VisitAmendment,
    VisitPlan,
    VisitPlanLine,
)
from pharmacrm.sales.models import Product


def _note(**kwargs: Any) -> serializers.CharField:
    return serializers.CharField(max_length=MAX_NOTE, allow_blank=True, **kwargs)


# --- visits --------------------------------------------------------------------------------------------------


class VisitAmendmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = VisitAmendment
        fields = ["id", "field", "old", "new", "reason", "by", "created_at"]
        read_only_fields = fields


class VisitSerializer(serializers.ModelSerializer):
    amendments = VisitAmendmentSerializer(many=True, read_only=True)

    class Meta:
        model = Visit
        fields = ["id", "institution", "rep", "kind", "status", "planned_for", "goal", "planned_contacts", "content",
                  "reason", "checked_in_at", "check_in_latitude", "check_in_longitude", "check_in_accuracy_m",
                  "checked_out_at", "check_out_latitude", "check_out_longitude", "channel", "contacts_met",
                  "products", "key_messages", "feedback", "objections", "competitors", "agreements",
                  "submitted_at", "reviewed_by", "reviewed_at", "review_comment", "flagged_terms", "amendments",
                  "version", "created_at"]
        read_only_fields = fields


class VisitPlanSerializer(serializers.Serializer):
    institution = serializers.PrimaryKeyRelatedField(queryset=Institution.objects.all())
    planned_for = serializers.DateTimeField()
    goal = serializers.CharField(max_length=300)
    content = _note(required=False, default="")
    contacts = serializers.PrimaryKeyRelatedField(queryset=Contact.objects.all(), many=True, required=False,
                                                  default=list)
    kind = serializers.ChoiceField(choices=VisitKind.choices, required=False, default=VisitKind.ROUTINE)
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class PointSerializer(serializers.Serializer):
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, min_value=-90, max_value=90)
    longitude = serializers.DecimalField(max_digits=10, decimal_places=6, min_value=-180, max_value=180)
    accuracy = serializers.IntegerField(min_value=0, max_value=100_000, required=False, allow_null=True, default=None)
    photo = serializers.FileField(required=False, allow_null=True, default=None)


class ReportSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=VISIT_CHANNELS, required=False, allow_blank=True, default="")
    contacts = serializers.PrimaryKeyRelatedField(queryset=Contact.objects.all(), many=True, required=False)
    products = serializers.PrimaryKeyRelatedField(queryset=Product.objects.all(), many=True, required=False)
    key_messages = _note(required=False)
    feedback = _note(required=False)
    objections = _note(required=False)
    competitors = _note(required=False)
    agreements = _note(required=False)


class ProblemSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=300)
    due_on = serializers.DateField(required=False, allow_null=True, default=None)


class SubmitSerializer(serializers.Serializer):
    problems = ProblemSerializer(many=True, required=False, default=list)


class ReviewSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=MAX_NOTE)


class AmendSerializer(serializers.Serializer):
    field = serializers.ChoiceField(choices=services.AMENDABLE_FIELDS)
    value = _note()
    reason = serializers.CharField(max_length=500)


class EngagementReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class VisitViewSet(ScopedModelViewSet):
    model = Visit
    queryset = Visit.objects.none()
    serializer_class = VisitSerializer
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    def get_queryset(self) -> Any:
        return super().get_queryset().prefetch_related("planned_contacts", "contacts_met", "products", "amendments")

    def _response(self, visit: Visit, http_status: int = status.HTTP_200_OK) -> Response:
        visit = self.get_queryset().get(pk=visit.pk)
        return with_etag(VisitSerializer(visit).data, visit.version, http_status)

    @extend_schema(request=VisitPlanSerializer, responses=VisitSerializer)
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = validated(VisitPlanSerializer, request)
        require_visible(Institution, request.user, data["institution"], "institution")
        visit = services.plan_visit(actor=request.user, **data)
        return self._response(visit, status.HTTP_201_CREATED)

    @extend_schema(request=PointSerializer, responses=VisitSerializer)
    @action(detail=True, methods=["post"], url_path="check-in")
    def check_in(self, request: Request, pk: str | None = None) -> Response:
        data = validated(PointSerializer, request)
        return self._response(services.check_in(actor=request.user, visit=self.get_object(), **data))

    @extend_schema(request=PointSerializer, responses=VisitSerializer)
    @action(detail=True, methods=["post"], url_path="check-out")
    def check_out(self, request: Request, pk: str | None = None) -> Response:
        data = validated(PointSerializer, request)
        return self._response(services.check_out(actor=request.user, visit=self.get_object(),
                                                 latitude=data["latitude"], longitude=data["longitude"]))

    @extend_schema(request=ReportSerializer, responses=VisitSerializer)
    @action(detail=True, methods=["post"])
    def report(self, request: Request, pk: str | None = None) -> Response:
        """Save the report (a draft until submitted); send ``If-Match`` with the version you last saw."""
        data = validated(ReportSerializer, request)
        visit = services.save_report(actor=request.user, visit=self.get_object(),
                                     expected_version=expected_version(request), **data)
        return self._response(visit)

    @extend_schema(request=SubmitSerializer, responses=VisitSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str | None = None) -> Response:
        data = validated(SubmitSerializer, request)
        problems = [services.Problem(title=item["title"], due_on=item["due_on"]) for item in data["problems"]]
        visit = services.submit_report(actor=request.user, visit=self.get_object(), problems=problems,
                                       expected_version=expected_version(request))
        return self._response(visit)

    @extend_schema(request=ReviewSerializer, responses=VisitSerializer)
    @action(detail=True, methods=["post"])
    def review(self, request: Request, pk: str | None = None) -> Response:
        data = validated(ReviewSerializer, request)
        return self._response(services.review_visit(actor=request.user, visit=self.get_object(), **data))

    @extend_schema(request=AmendSerializer, responses=VisitSerializer)
    @action(detail=True, methods=["post"])
    def amend(self, request: Request, pk: str | None = None) -> Response:
        data = validated(AmendSerializer, request)
        visit = self.get_object()
        services.amend_visit(actor=request.user, visit=visit, **data)
        return self._response(visit)

    @extend_schema(request=EngagementReasonSerializer, responses=VisitSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        data = validated(EngagementReasonSerializer, request)
        return self._response(services.cancel_visit(actor=request.user, visit=self.get_object(), **data))


# --- communications ------------------------------------------------------------------------------------------


class CommunicationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Communication
        fields = ["id", "institution", "contact", "by", "channel", "direction", "occurred_at", "summary",
                  "flagged_terms", "created_at"]
        read_only_fields = fields


class CommunicationInputSerializer(serializers.Serializer):
    institution = serializers.PrimaryKeyRelatedField(queryset=Institution.objects.all())
    contact = serializers.PrimaryKeyRelatedField(queryset=Contact.objects.all(), required=False, allow_null=True,
                                                 default=None)
    channel = serializers.ChoiceField(choices=Channel.choices)
    direction = serializers.ChoiceField(choices=Direction.choices, required=False, default=Direction.OUTBOUND)
    occurred_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    summary = serializers.CharField(max_length=MAX_NOTE)


class CommunicationViewSet(ScopedModelViewSet):
    model = Communication
    queryset = Communication.objects.none()
    serializer_class = CommunicationSerializer

    @extend_schema(request=CommunicationInputSerializer, responses=CommunicationSerializer)
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = validated(CommunicationInputSerializer, request)
        require_visible(Institution, request.user, data["institution"], "institution")
        require_visible(Contact, request.user, data["contact"], "contact")
        communication = services.log_communication(actor=request.user, **data)
        return Response(CommunicationSerializer(communication).data, status=status.HTTP_201_CREATED)


# --- follow-up tasks -----------------------------------------------------------------------------------------


class FollowUpSerializer(serializers.ModelSerializer):
    class Meta:
        model = FollowUp
        fields = ["id", "institution", "visit", "title", "owner", "created_by", "due_on", "status",
                  "customer_informed", "outcome", "closed_at", "version", "created_at"]
        read_only_fields = fields


class FollowUpInputSerializer(serializers.Serializer):
    institution = serializers.PrimaryKeyRelatedField(queryset=Institution.objects.all())
    title = serializers.CharField(max_length=300)
    due_on = serializers.DateField()


class CloseSerializer(serializers.Serializer):
    outcome = serializers.CharField(max_length=MAX_NOTE)
    customer_informed = serializers.BooleanField(default=False)


class FollowUpViewSet(ScopedModelViewSet):
    model = FollowUp
    queryset = FollowUp.objects.none()
    serializer_class = FollowUpSerializer

    def get_queryset(self) -> Any:
        rows = super().get_queryset()
        wanted = self.request.query_params.get("status")
        return rows.filter(status=wanted) if wanted else rows

    @extend_schema(request=FollowUpInputSerializer, responses=FollowUpSerializer)
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = validated(FollowUpInputSerializer, request)
        require_visible(Institution, request.user, data["institution"], "institution")
        task = services.raise_follow_up(actor=request.user, **data)
        return Response(FollowUpSerializer(task).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CloseSerializer, responses=FollowUpSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None) -> Response:
        data = validated(CloseSerializer, request)
        task = services.close_follow_up(actor=request.user, task=self.get_object(), **data)
        return Response(FollowUpSerializer(task).data)

    @extend_schema(request=EngagementReasonSerializer, responses=FollowUpSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        data = validated(EngagementReasonSerializer, request)
        task = services.cancel_follow_up(actor=request.user, task=self.get_object(), **data)
        return Response(FollowUpSerializer(task).data)


# --- visit plans ---------------------------------------------------------------------------------------------


class PlanLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = VisitPlanLine
        fields = ["id", "institution", "rule", "rule_visits", "rule_contacts", "visits", "note", "below_rule"]
        read_only_fields = fields


class PlanSerializer(serializers.ModelSerializer):
    lines = PlanLineSerializer(many=True, read_only=True)

    class Meta:
        model = VisitPlan
        fields = ["id", "rep", "period", "starts_on", "ends_on", "status", "note", "submitted_at", "decided_by",
                  "decided_at", "decision_comment", "lines", "version", "created_at"]
        read_only_fields = fields


class PlanDraftSerializer(serializers.Serializer):
    period = serializers.ChoiceField(choices=PlanPeriod.choices)
    day = serializers.DateField(help_text="Any day of the period to plan.")
    note = _note(required=False, default="")


class PlanLineInputSerializer(serializers.Serializer):
    id = serializers.IntegerField(min_value=1)
    visits = serializers.IntegerField(min_value=0, max_value=plans.MAX_LINE_VISITS)
    note = serializers.CharField(max_length=300, allow_blank=True, required=False, default="")


class PlanLinesSerializer(serializers.Serializer):
    lines = PlanLineInputSerializer(many=True, max_length=20_000)
    note = _note(required=False, allow_null=True, default=None)


class PlanAddLineSerializer(serializers.Serializer):
    institution = serializers.PrimaryKeyRelatedField(queryset=Institution.objects.all())
    visits = serializers.IntegerField(min_value=0, max_value=plans.MAX_LINE_VISITS, required=False, default=1)
    note = serializers.CharField(max_length=300, allow_blank=True, required=False, default="")


class PlanDecisionSerializer(serializers.Serializer):
    comment = _note(required=False, default="")


class PlanViewSet(ScopedModelViewSet):
    """A rep's annual, quarterly or monthly visit plan: drafted from the cadence rules, edited, submitted, and
    approved (a monthly plan's visits then go on the rep's calendar) or returned by the manager."""

    model = VisitPlan
    queryset = VisitPlan.objects.none()
    serializer_class = PlanSerializer

    def get_queryset(self) -> Any:
        rows = super().get_queryset().prefetch_related("lines")
        wanted = self.request.query_params.get("status")
        return rows.filter(status=wanted) if wanted else rows

    def _response(self, plan: VisitPlan, http_status: int = status.HTTP_200_OK) -> Response:
        plan = self.get_queryset().get(pk=plan.pk)
        return with_etag(PlanSerializer(plan).data, plan.version, http_status)

    @extend_schema(request=PlanDraftSerializer, responses=PlanSerializer)
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = validated(PlanDraftSerializer, request)
        return self._response(plans.draft_plan(actor=request.user, **data), status.HTTP_201_CREATED)

    @extend_schema(request=PlanLinesSerializer, responses=PlanSerializer)
    @action(detail=True, methods=["post"])
    def lines(self, request: Request, pk: str | None = None) -> Response:
        """Set planned visits and notes of lines (all or none); send ``If-Match`` with the version you last saw."""
        data = validated(PlanLinesSerializer, request)
        plan = plans.save_lines(actor=request.user, plan=self.get_object(), note=data["note"],
                                lines={item["id"]: (item["visits"], item["note"]) for item in data["lines"]},
                                expected_version=expected_version(request))
        return self._response(plan)

    @extend_schema(request=PlanAddLineSerializer, responses=PlanSerializer)
    @action(detail=True, methods=["post"], url_path="add-line")
    def add_line(self, request: Request, pk: str | None = None) -> Response:
        data = validated(PlanAddLineSerializer, request)
        require_visible(Institution, request.user, data["institution"], "institution")
        plan = self.get_object()
        plans.add_line(actor=request.user, plan=plan, **data)
        return self._response(plan)

    @extend_schema(request=None, responses=PlanSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str | None = None) -> Response:
        return self._response(plans.submit_plan(actor=request.user, plan=self.get_object(),
                                                expected_version=expected_version(request)))

    @extend_schema(request=PlanDecisionSerializer, responses=PlanSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        data = validated(PlanDecisionSerializer, request)
        plan, _scheduled = plans.approve_plan(actor=request.user, plan=self.get_object(), **data)
        return self._response(plan)

    @extend_schema(request=EngagementReasonSerializer, responses=PlanSerializer)
    @action(detail=True, methods=["post"], url_path="return")
    def send_back(self, request: Request, pk: str | None = None) -> Response:
        data = validated(EngagementReasonSerializer, request)
        return self._response(plans.return_plan(actor=request.user, plan=self.get_object(), **data))


def register(router: DefaultRouter) -> None:
    router.register("visit-plans", PlanViewSet, basename="visitplan")
    router.register("visits", VisitViewSet, basename="visit")
    router.register("communications", CommunicationViewSet, basename="communication")
    router.register("tasks", FollowUpViewSet, basename="followup")
