"""API of saved filters: the user's own named list queries, ``?list_name=`` for one list page."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from pharmacrm.core import saved_filters
from pharmacrm.core.api.base import ScopedModelViewSet, expected_version
from pharmacrm.core.filters import SavedFilterFilter
from pharmacrm.core.models import SavedFilter


class SavedFilterSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="The list page with this filter applied")

    class Meta:
        model = SavedFilter
        fields = ["id", "list_name", "name", "querystring", "url", "created_at", "updated_at", "version"]

    def get_url(self, saved: SavedFilter) -> str:
        return saved_filters.list_url(saved.list_name, saved.querystring)


class SavedFilterInputSerializer(serializers.Serializer):
    list_name = serializers.CharField(max_length=100, help_text="URL name of a list page, e.g. customers:institution_list")
    name = serializers.CharField(max_length=80)
    querystring = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="",
                                        help_text="The list's query without '?', e.g. status=active&kind=pharmacy")
    overwrite = serializers.BooleanField(required=False, default=False,
                                         help_text="Replace your saved filter of the same name on that list")


class SavedFilterUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=80, required=False)
    querystring = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    version = serializers.IntegerField(required=False, help_text="Optimistic locking (or If-Match)")


class SavedFilterViewSet(ScopedModelViewSet):
    """The signed-in user's saved filters; someone else's are "not found"."""

    model = SavedFilter
    queryset = SavedFilter.objects.none()
    serializer_class = SavedFilterSerializer
    filterset_class = SavedFilterFilter
    permission_classes = [IsAuthenticated]  # personal rows: visible_to keeps each user to their own

    @extend_schema(request=SavedFilterInputSerializer, responses={201: SavedFilterSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = SavedFilterInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        saved = saved_filters.create_saved_filter(actor=request.user, **payload.validated_data)
        return Response(SavedFilterSerializer(saved).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SavedFilterUpdateSerializer, responses=SavedFilterSerializer)
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        saved = self.get_object()
        payload = SavedFilterUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        changes = {key: value for key, value in payload.validated_data.items() if key != "version"}
        saved = saved_filters.update_saved_filter(actor=request.user, saved_filter=saved, changes=changes,
                                                  expected_version=expected_version(request))
        return Response(SavedFilterSerializer(saved).data)

    @extend_schema(request=SavedFilterUpdateSerializer, responses=SavedFilterSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        saved_filters.delete_saved_filter(actor=request.user, saved_filter=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


def register(router: DefaultRouter) -> None:
    router.register("saved-filters", SavedFilterViewSet, basename="savedfilter")
