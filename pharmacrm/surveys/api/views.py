"""Surveys API: ``/api/v1/surveys/question-sets/`` (``POST`` writes one), ``/api/v1/surveys/campaigns/``
(``POST`` drafts; ``…/{id}/launch/`` returns the links once; ``…/{id}/close/``), ``/api/v1/surveys/responses/``
(read, scoped to the user's customers) — the same services and scope as the pages. The public survey page is not
part of the API."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from pharmacrm.core.api.base import ScopedModelViewSet, ScopedReadOnlyViewSet, require_visible, validated
from pharmacrm.surveys import services
from pharmacrm.surveys.choices import Audience, QuestionKind, SurveyChannel
from pharmacrm.surveys.filters import ResponseFilter
from pharmacrm.surveys.models import QuestionSet, SurveyCampaign, SurveyResponse


class QuestionSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=QuestionKind.choices)
    text = serializers.CharField(max_length=services.MAX_QUESTION_TEXT)


class QuestionSetSerializer(serializers.ModelSerializer):
    class Meta:
        model = QuestionSet
        fields = ["id", "name", "questions", "active", "for_cases", "created_by", "version", "created_at"]
        read_only_fields = fields


class QuestionSetInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    questions = QuestionSerializer(many=True, allow_empty=False, max_length=services.MAX_QUESTIONS)
    active = serializers.BooleanField(required=False, default=True)
    for_cases = serializers.BooleanField(required=False, default=False)


class QuestionSetViewSet(ScopedModelViewSet):
    model = QuestionSet
    queryset = QuestionSet.objects.none()
    serializer_class = QuestionSetSerializer

    @extend_schema(request=QuestionSetInputSerializer, responses=QuestionSetSerializer)
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = validated(QuestionSetInputSerializer, request)
        data["questions"] = [dict(question) for question in data["questions"]]
        question_set = services.save_question_set(actor=request.user, **data)
        return Response(QuestionSetSerializer(question_set).data, status=status.HTTP_201_CREATED)


class CampaignSerializer(serializers.ModelSerializer):
    class Meta:
        model = SurveyCampaign
        fields = ["id", "name", "question_set", "audience", "klass", "channel", "opens_on", "closes_on", "status",
                  "launched_at", "in_segment", "invited", "skipped_no_consent", "version", "created_at"]
        read_only_fields = fields


class CampaignInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    question_set = serializers.PrimaryKeyRelatedField(queryset=QuestionSet.objects.all())
    audience = serializers.ChoiceField(choices=Audience.choices)
    klass = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    channel = serializers.ChoiceField(choices=SurveyChannel.choices)
    opens_on = serializers.DateField()
    closes_on = serializers.DateField()


class LinkSerializer(serializers.Serializer):
    invitation = serializers.IntegerField()
    contact = serializers.IntegerField()
    institution = serializers.IntegerField()
    url = serializers.CharField()


class LaunchSerializer(serializers.Serializer):
    campaign = CampaignSerializer()
    links = LinkSerializer(many=True)


class CampaignViewSet(ScopedModelViewSet):
    model = SurveyCampaign
    queryset = SurveyCampaign.objects.none()
    serializer_class = CampaignSerializer

    @extend_schema(request=CampaignInputSerializer, responses=CampaignSerializer)
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = validated(CampaignInputSerializer, request)
        require_visible(QuestionSet, request.user, data["question_set"], "question_set")
        campaign = services.save_campaign(actor=request.user, **data)
        return Response(CampaignSerializer(campaign).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=LaunchSerializer)
    @action(detail=True, methods=["post"])
    def launch(self, request: Request, pk: str | None = None) -> Response:
        """Invite the segment's consenting contacts; the links come back in this answer only."""
        base = request.build_absolute_uri("/")[:-1]
        launch = services.launch_campaign(actor=request.user, campaign=self.get_object(), base_url=base)
        links = [{"invitation": invitation.pk, "contact": invitation.contact_id,
                  "institution": invitation.institution_id, "url": services.survey_url(token, base)}
                 for invitation, token in launch.links]
        return Response({"campaign": CampaignSerializer(launch.campaign).data, "links": links},
                        status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=CampaignSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None) -> Response:
        campaign = services.close_campaign(actor=request.user, campaign=self.get_object())
        return Response(CampaignSerializer(campaign).data)


class ResponseSerializer(serializers.ModelSerializer):
    class Meta:
        model = SurveyResponse
        fields = ["id", "invitation", "campaign", "institution", "answers", "csat", "nps", "comment", "answered_at",
                  "follow_up_case"]
        read_only_fields = fields


class ResponseViewSet(ScopedReadOnlyViewSet):
    model = SurveyResponse
    queryset = SurveyResponse.objects.none()
    serializer_class = ResponseSerializer
    filterset_class = ResponseFilter


def register(router: DefaultRouter) -> None:
    router.register("surveys/question-sets", QuestionSetViewSet, basename="surveyquestionset")
    router.register("surveys/campaigns", CampaignViewSet, basename="surveycampaign")
    router.register("surveys/responses", ResponseViewSet, basename="surveyresponse")
