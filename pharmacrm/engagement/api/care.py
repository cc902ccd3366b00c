"""Care API (seed 000 五.1, seed 003 四.2): ``/api/v1/care/calendar/`` (birthdays, festivals, anniversaries of the
user's book), ``/api/v1/care/templates/`` (marketing writes, compliance approves: ``approve/``) and
``/api/v1/care/greetings/`` (recorded through an approved template, only to contacts who consented on the
channel). The same services and scope as the care pages; gifts are never recorded here (the gift ledger)."""

from __future__ import annotations

import datetime
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from pharmacrm.core import policy
from pharmacrm.core.api.base import ScopedModelViewSet, check_precondition, expected_version
from pharmacrm.customers.choices import ConsentChannel
from pharmacrm.customers.models import Contact
from pharmacrm.engagement import care
from pharmacrm.engagement.choices import Occasion
from pharmacrm.engagement.models import Greeting, GreetingTemplate
from pharmacrm.org.scope import authorize

#: the longest window the calendar answers for at once (a quarter)
MAX_CALENDAR_DAYS = 92


class OccasionSerializer(serializers.Serializer):
    on = serializers.DateField()
    kind = serializers.ChoiceField(choices=["birthday", "festival", "anniversary"])
    title = serializers.CharField()
    contact = serializers.IntegerField(source="contact.pk", allow_null=True, default=None)
    institution = serializers.IntegerField(source="institution.pk", allow_null=True, default=None)
    greet_channels = serializers.ListField(child=serializers.CharField())


class CalendarViewSet(viewsets.ViewSet):
    """What the user's book calls for between ``start`` and ``end`` (default: the next
    ``engagement.care_reminder_days`` + 7 days): festivals, contacts' birthdays (to users who may read personal
    data; month and day only), anniversaries of cooperation; with the channels each contact consented to
    greetings on."""

    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[OpenApiParameter("start", datetime.date), OpenApiParameter("end", datetime.date)],
                   responses=OccasionSerializer(many=True))
    def list(self, request: Request) -> Response:
        if not request.user.has_perm("engagement.view_greeting"):
            raise PermissionDenied
        today = policy.today()
        errors = {}
        days = {}
        for name, default in (("start", today), ("end", today + datetime.timedelta(days=7))):
            try:
                days[name] = datetime.date.fromisoformat(request.query_params[name]) \
                    if request.query_params.get(name) else default
            except ValueError:
                errors[name] = ["Enter a date as YYYY-MM-DD."]
        if not errors and days["end"] < days["start"]:
            errors["end"] = ["The end is before the start."]
        if not errors and (days["end"] - days["start"]).days >= MAX_CALENDAR_DAYS:
            errors["end"] = [f"At most {MAX_CALENDAR_DAYS} days at once."]
        if errors:
            raise ValidationError(errors)
        occasions = care.calendar_for(request.user, days["start"], days["end"])
        return Response(OccasionSerializer(occasions, many=True).data)


class GreetingTemplateSerializer(serializers.ModelSerializer):
    class Meta:
        model = GreetingTemplate
        fields = ["id", "occasion", "title", "text", "approved_by", "approved_at", "version", "created_at"]
        read_only_fields = ["id", "approved_by", "approved_at", "version", "created_at"]
        extra_kwargs = {"title": {"max_length": 100}, "text": {"max_length": 500}}


class GreetingTemplateViewSet(ScopedModelViewSet):
    """Marketing writes templates (``{name}`` is replaced by the contact's name), compliance approves them; a
    changed text needs approval again. Field roles see the approved ones."""

    model = GreetingTemplate
    queryset = GreetingTemplate.objects.none()
    serializer_class = GreetingTemplateSerializer

    def get_queryset(self) -> Any:
        rows = super().get_queryset()
        user = self.request.user
        writes = user.has_perm("engagement.add_greetingtemplate") or user.has_perm(
            "engagement.approve_greetingtemplate")
        return rows if writes else rows.approved()

    def _save(self, request: Request, template: GreetingTemplate | None, partial: bool = False) -> Response:
        payload = GreetingTemplateSerializer(template, data=request.data, partial=partial)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        current = {"title": template.title, "text": template.text, "occasion": template.occasion} if template else {}
        values = {**current, **{name: data[name] for name in ("title", "text", "occasion") if name in data}}
        saved = care.save_template(actor=request.user, template=template, occasion=values.get("occasion", Occasion.ANY),
                                   title=values.get("title", ""), text=values.get("text", ""),
                                   expected_version=expected_version(request) if template is not None else None)
        return Response(GreetingTemplateSerializer(saved).data,
                        status=status.HTTP_201_CREATED if template is None else status.HTTP_200_OK)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._save(request, None)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._save(request, self.get_object(), partial=kwargs.get("partial", False))

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._save(request, self.get_object(), partial=True)

    @extend_schema(request=None, responses=GreetingTemplateSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        """Needs ``If-Match`` with the version compliance read, like an edit: a changed text is not approved unseen."""
        template = self.get_object()
        authorize(request.user, "engagement.approve_greetingtemplate")  # who may approve before which version
        check_precondition(request, template)
        template = care.approve_template(actor=request.user, template=template,
                                         expected_version=expected_version(request))
        return Response(GreetingTemplateSerializer(template).data)


class GreetingSerializer(serializers.ModelSerializer):
    class Meta:
        model = Greeting
        fields = ["id", "contact", "template", "channel", "text", "sent_at", "by"]
        read_only_fields = fields


class GreetInputSerializer(serializers.Serializer):
    template = serializers.PrimaryKeyRelatedField(queryset=GreetingTemplate.objects.all())
    contacts = serializers.ListField(child=serializers.PrimaryKeyRelatedField(queryset=Contact.objects.all()),
                                     allow_empty=False, max_length=500)
    channel = serializers.ChoiceField(choices=ConsentChannel.choices)


class SkippedSerializer(serializers.Serializer):
    contact = serializers.IntegerField()
    reason = serializers.CharField()


class GreetResultSerializer(serializers.Serializer):
    greeted = GreetingSerializer(many=True)
    skipped = SkippedSerializer(many=True)


class GreetingViewSet(ScopedModelViewSet):
    """Greetings recorded (channel, time, text); ``POST`` greets contacts through an approved template — those
    without a care consent on the channel are skipped, each with the reason."""

    model = Greeting
    queryset = Greeting.objects.none()
    serializer_class = GreetingSerializer

    @extend_schema(request=GreetInputSerializer, responses=GreetResultSerializer)
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = GreetInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        sent = care.send_greetings(actor=request.user, template=data["template"], contacts=data["contacts"],
                                   channel=data["channel"])
        return Response({"greeted": GreetingSerializer(sent.greeted, many=True).data,
                         "skipped": [{"contact": contact.pk, "reason": str(reason)} for contact, reason in sent.skipped]},
                        status=status.HTTP_201_CREATED if sent.greeted else status.HTTP_200_OK)


def register(router: Any) -> None:
    router.register("care/calendar", CalendarViewSet, basename="care-calendar")
    router.register("care/templates", GreetingTemplateViewSet, basename="greetingtemplate")
    router.register("care/greetings", GreetingViewSet, basename="greeting")
