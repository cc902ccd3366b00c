"""Service desk API: ``/api/v1/cases/`` (``POST`` logs one; ``PATCH`` corrects what was logged, with a reason;
``DELETE`` voids it — a GxP record is never removed; ``…/{id}/respond/``, ``move/``, ``notes/``, ``wait/``,
``reassign/``, ``pv/``, ``pv-report/``, ``archive/``) and ``/api/v1/case-clocks/`` (``?breached=1``, ``?near=1``) —
the same services and scope as the pages. Changes and voiding need ``If-Match`` with the version last read."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.utils.http import content_disposition_header
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from pharmacrm.core.api.base import (
    RolePermissions,
    ScopedModelViewSet,
    expected_version,
    require_visible,
    validated,
    with_etag,
)
from pharmacrm.core.api.signatures import (
    MANIFEST_SCHEMA,
    SignatureSerializer,
    SigningInputSerializer,
    manifest_response,
    signing_refused,
)
from pharmacrm.core.signatures import SignatureRefused, continuity_of
from pharmacrm.customers.models import Contact, Institution
from pharmacrm.engagement.models import Visit
from pharmacrm.org.models import User
from pharmacrm.privacy import retained
from pharmacrm.sales.models import Order, Product
from pharmacrm.service import archive, clocks, services
from pharmacrm.service.choices import CaseChannel, CaseKind, CaseStatus, PvKind, PvSeriousness, ReturnKind, RootCause
from pharmacrm.service.choices import Severity as SeverityChoice
from pharmacrm.service.models import MAX_TEXT, Case, CaseNote, SlaClock


class ClockSerializer(serializers.ModelSerializer):
    class Meta:
        model = SlaClock
        fields = ["id", "case", "kind", "basis", "target", "started_at", "due_at", "paused_at", "stopped_at",
                  "warned_at", "breached_at", "escalation", "owner"]
        read_only_fields = fields


#: a case's free text that may name its complainant (masked once the person is anonymised, QA excepted)
CASE_TEXT = ("title", "description", "solution", "corrective_action", "void_reason")


def _masked(serializer: serializers.Serializer, data: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    mask = retained.for_request(serializer.context.get("request"))
    return {**data, **{name: mask(data[name]) for name in fields if data.get(name)}}


class NoteSerializer(serializers.ModelSerializer):
    class Meta:
        model = CaseNote
        fields = ["id", "by", "internal", "body", "created_at"]
        read_only_fields = fields

    def to_representation(self, instance: CaseNote) -> dict[str, Any]:
        return _masked(self, super().to_representation(instance), ("body",))


class CaseSerializer(serializers.ModelSerializer):
    clocks = ClockSerializer(many=True, read_only=True)
    notes = NoteSerializer(many=True, read_only=True)
    changed_since_original_entry = serializers.SerializerMethodField()

    def to_representation(self, instance: Case) -> dict[str, Any]:
        return _masked(self, super().to_representation(instance), CASE_TEXT)

    def get_changed_since_original_entry(self, case: Case) -> bool:
        """True when the record was changed after it was first entered (its audit trail has updates)."""
        annotated = getattr(case, "changed_since_entry", None)  # CaseViewSet's queryset: one subquery per list
        return bool(annotated) if annotated is not None else archive.changes_since_entry(case) > 0

    class Meta:
        model = Case
        fields = ["id", "number", "institution", "contact", "kind", "channel", "severity", "title", "description",
                  "product", "batch_number", "order", "return_kind", "visit", "status", "owner", "created_by",
                  "received_at", "acknowledged_at", "resolved_at", "closed_at", "solution", "root_cause",
                  "corrective_action", "follow_up_visit", "waiting_on_customer", "pv_kind", "pv_seriousness",
                  "pv_aware_on", "pv_reported_at", "pv_reference", "escalation", "voided_at", "void_reason",
                  "retention_until", "changed_since_original_entry", "clocks", "notes", "version", "created_at"]
        read_only_fields = fields


class CaseInputSerializer(serializers.Serializer):
    institution = serializers.PrimaryKeyRelatedField(queryset=Institution.objects.all())
    kind = serializers.ChoiceField(choices=CaseKind.choices)
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=MAX_TEXT)
    contact = serializers.PrimaryKeyRelatedField(queryset=Contact.objects.all(), required=False, allow_null=True,
                                                 default=None)
    channel = serializers.ChoiceField(choices=CaseChannel.choices, required=False, default=CaseChannel.HOTLINE)
    severity = serializers.ChoiceField(choices=SeverityChoice.choices, required=False, default=SeverityChoice.MEDIUM)
    product = serializers.PrimaryKeyRelatedField(queryset=Product.objects.all(), required=False, allow_null=True,
                                                 default=None)
    batch_number = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    order = serializers.PrimaryKeyRelatedField(queryset=Order.objects.all(), required=False, allow_null=True,
                                               default=None)
    return_kind = serializers.ChoiceField(choices=ReturnKind.choices, required=False, allow_blank=True, default="")
    visit = serializers.PrimaryKeyRelatedField(queryset=Visit.objects.all(), required=False, allow_null=True,
                                               default=None)
    received_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    pv_kind = serializers.ChoiceField(choices=PvKind.choices, required=False, allow_blank=True, default="")
    pv_seriousness = serializers.ChoiceField(choices=PvSeriousness.choices, required=False, allow_blank=True,
                                             default="")


class CaseUpdateSerializer(serializers.Serializer):
    """A correction of what was logged; ``reason`` is required (a GxP record: the why is kept with old and new)."""

    reason = serializers.CharField(max_length=500)
    title = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(max_length=MAX_TEXT, required=False)
    channel = serializers.ChoiceField(choices=CaseChannel.choices, required=False)
    contact = serializers.PrimaryKeyRelatedField(queryset=Contact.objects.all(), required=False, allow_null=True)
    product = serializers.PrimaryKeyRelatedField(queryset=Product.objects.all(), required=False, allow_null=True)
    batch_number = serializers.CharField(max_length=40, required=False, allow_blank=True)


class VoidSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class CasePermissions(RolePermissions):
    """Changes are checked by the service (the owner, or who works cases); voiding needs ``service.void_case``."""

    perms_map = {**RolePermissions.perms_map, "PATCH": ["%(app_label)s.view_%(model_name)s"],
                 "DELETE": ["%(app_label)s.void_%(model_name)s"]}


class MoveSerializer(serializers.Serializer):
    to = serializers.ChoiceField(choices=[choice for choice in CaseStatus.choices if choice[0] not in (
        CaseStatus.RECEIVED, CaseStatus.ACKNOWLEDGED, CaseStatus.VOIDED)])
    solution = serializers.CharField(max_length=MAX_TEXT, required=False, allow_blank=True, default="")
    root_cause = serializers.ChoiceField(choices=RootCause.choices, required=False, allow_blank=True, default="")
    corrective_action = serializers.CharField(max_length=MAX_TEXT, required=False, allow_blank=True, default="")
    follow_up_visit = serializers.PrimaryKeyRelatedField(queryset=Visit.objects.all(), required=False,
                                                         allow_null=True, default=None)
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class NoteInputSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=MAX_TEXT)
    internal = serializers.BooleanField(default=True)


class WaitSerializer(serializers.Serializer):
    waiting = serializers.BooleanField()
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ReassignSerializer(serializers.Serializer):
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True))
    reason = serializers.CharField(max_length=500)


class PvSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=PvKind.choices)
    seriousness = serializers.ChoiceField(choices=PvSeriousness.choices, required=False, default=PvSeriousness.OTHER)
    aware_on = serializers.DateField(required=False, allow_null=True, default=None)


class PvReportSerializer(serializers.Serializer):
    reference = serializers.CharField(max_length=60)


class CaseSigningSerializer(SigningInputSerializer):
    root_cause = serializers.ChoiceField(choices=RootCause.choices, required=False, allow_blank=True, default="")
    corrective_action = serializers.CharField(max_length=MAX_TEXT, required=False, allow_blank=True, default="")



class CaseViewSet(ScopedModelViewSet):
    model = Case
    queryset = Case.objects.none()
    serializer_class = CaseSerializer
    permission_classes = [CasePermissions]

    def get_queryset(self) -> Any:
        rows = archive.with_changed_flag(super().get_queryset().prefetch_related("clocks", "notes"))
        params = self.request.query_params
        if params.get("status") == "open":
            rows = rows.open()
        elif params.get("status") in CaseStatus.values:
            rows = rows.filter(status=params["status"])
        if params.get("kind") in CaseKind.values:
            rows = rows.filter(kind=params["kind"])
        if str(params.get("institution", "")).isdigit():
            rows = rows.filter(institution_id=params["institution"])
        return rows

    def _response(self, case: Case, http_status: int = status.HTTP_200_OK) -> Response:
        case = self.get_queryset().get(pk=case.pk)
        return with_etag(CaseSerializer(case).data, case.version, http_status)

    @extend_schema(request=CaseInputSerializer, responses=CaseSerializer)
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = validated(CaseInputSerializer, request)
        require_visible(Institution, request.user, data["institution"], "institution")
        require_visible(Contact, request.user, data["contact"], "contact")
        require_visible(Order, request.user, data["order"], "order")
        require_visible(Visit, request.user, data["visit"], "visit")
        return self._response(services.open_case(actor=request.user, **data), status.HTTP_201_CREATED)

    @extend_schema(request=CaseUpdateSerializer, responses=CaseSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Correct what was logged: ``reason`` and ``If-Match`` required; status changes go through ``move/``."""
        case = self.get_object()
        data = validated(CaseUpdateSerializer, request)
        reason = data.pop("reason")
        require_visible(Contact, request.user, data.get("contact"), "contact")
        require_visible(Product, request.user, data.get("product"), "product")
        return self._response(services.update_case(actor=request.user, case=case, changes=data, reason=reason,
                                                   expected_version=expected_version(request)))

    @extend_schema(request=VoidSerializer, responses=CaseSerializer)
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Void the case (it is kept: a GxP record is never deleted); ``reason`` and ``If-Match`` required."""
        case = self.get_object()
        data = validated(VoidSerializer, request)
        return self._response(services.void_case(actor=request.user, case=case, reason=data["reason"],
                                                 expected_version=expected_version(request)))

    @extend_schema(request=None, responses={200: dict})
    @action(detail=True, methods=["get"])
    def archive(self, request: Request, pk: str | None = None) -> HttpResponse:
        """The case's archive (record, notes, clocks, audit trail, signature manifests) as a JSON download."""
        name, text = archive.archive_for_download(self.get_object(), request.user)
        response = HttpResponse(text, content_type="application/json; charset=utf-8")
        response["Content-Disposition"] = content_disposition_header(True, name)
        return response

    @extend_schema(request=None, responses=CaseSerializer)
    @action(detail=True, methods=["post"])
    def respond(self, request: Request, pk: str | None = None) -> Response:
        return self._response(services.respond(actor=request.user, case=self.get_object(),
                                               expected_version=expected_version(request)))

    @extend_schema(request=MoveSerializer, responses=CaseSerializer)
    @action(detail=True, methods=["post"])
    def move(self, request: Request, pk: str | None = None) -> Response:
        """Move the case on (``to``); send ``If-Match`` with the version you last saw."""
        data = validated(MoveSerializer, request)  # the follow-up visit: the service checks it is the customer's
        return self._response(services.move(actor=request.user, case=self.get_object(),
                                            expected_version=expected_version(request), **data))

    @extend_schema(request=NoteInputSerializer, responses=CaseSerializer)
    @action(detail=True, methods=["post"])
    def notes(self, request: Request, pk: str | None = None) -> Response:
        data = validated(NoteInputSerializer, request)
        case = self.get_object()
        services.add_note(actor=request.user, case=case, **data)
        return self._response(case, status.HTTP_201_CREATED)

    @extend_schema(request=WaitSerializer, responses=CaseSerializer)
    @action(detail=True, methods=["post"])
    def wait(self, request: Request, pk: str | None = None) -> Response:
        data = validated(WaitSerializer, request)
        return self._response(services.set_waiting(actor=request.user, case=self.get_object(), **data))

    @extend_schema(request=ReassignSerializer, responses=CaseSerializer)
    @action(detail=True, methods=["post"])
    def reassign(self, request: Request, pk: str | None = None) -> Response:
        data = validated(ReassignSerializer, request)
        return self._response(services.reassign(actor=request.user, case=self.get_object(), **data))

    @extend_schema(request=PvSerializer, responses=CaseSerializer)
    @action(detail=True, methods=["post"])
    def pv(self, request: Request, pk: str | None = None) -> Response:
        data = validated(PvSerializer, request)
        return self._response(services.flag_pv(actor=request.user, case=self.get_object(), **data))

    @extend_schema(request=PvReportSerializer, responses=CaseSerializer)
    @action(detail=True, methods=["post"], url_path="pv-report")
    def pv_report(self, request: Request, pk: str | None = None) -> Response:
        data = validated(PvReportSerializer, request)
        return self._response(services.record_pv_report(actor=request.user, case=self.get_object(), **data))

    @extend_schema(request=CaseSigningSerializer, responses={201: SignatureSerializer})
    @action(detail=True, methods=["post"])
    def sign(self, request: Request, pk: str | None = None) -> Response:
        """签名关闭: close a complaint or quality case under an electronic signature (password; the username too
        at the first signing of a session and with a token). 403 when refused, 429 while signing is locked."""
        data = validated(CaseSigningSerializer, request)
        case = self.get_object()
        try:
            signature = services.sign_case(actor=request.user, case=case, continuity=continuity_of(request),
                                           expected_version=expected_version(request),
                                           username=data.pop("username") or None, **data)
        except SignatureRefused as exc:
            return signing_refused(exc)
        return Response(SignatureSerializer(signature).data, status=status.HTTP_201_CREATED)

    @extend_schema(**MANIFEST_SCHEMA)
    @action(detail=True, methods=["get"])
    def signatures(self, request: Request, pk: str | None = None) -> Response:
        """The case's signatures with their validity; ``resign_required`` after an edit since the last one."""
        return manifest_response(request, self.get_object())


class ClockViewSet(ScopedModelViewSet):
    """Deadlines of the cases the user sees, soonest first: ``?breached=1`` missed, ``?near=1`` due soon,
    ``?mine=1`` the user's own."""

    model = SlaClock
    queryset = SlaClock.objects.none()
    serializer_class = ClockSerializer

    def get_queryset(self) -> Any:
        rows = super().get_queryset()
        params = self.request.query_params
        if params.get("breached") == "1" or params.get("near") == "1":
            rows = clocks.breaches(rows, near=params.get("near") == "1")
        if params.get("mine") == "1":
            rows = rows.filter(owner=self.request.user)
        return rows.order_by("due_at", "id")


def register(router: DefaultRouter) -> None:
    router.register("cases", CaseViewSet, basename="case")
    router.register("case-clocks", ClockViewSet, basename="slaclock")
