"""API of spreadsheet imports: upload, map, check, commit and follow a job (core.imports)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from pharmacrm.core import imports
from pharmacrm.core.api.base import ScopedModelViewSet
from pharmacrm.core.models import ImportJob, ImportMode


class ImportJobSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", read_only=True)
    rejected_file_url = serializers.SerializerMethodField()
    progress_rows = serializers.SerializerMethodField(help_text="Rows processed so far (live while running)")
    interrupted = serializers.SerializerMethodField(help_text="The worker stopped; commit again to re-run")

    class Meta:
        model = ImportJob
        fields = ["id", "kind", "original_name", "status", "mode", "headers", "mapping", "total_rows",
                  "progress_rows", "error_rows", "error_count", "errors", "created_count", "updated_count",
                  "rejected_file_url", "message", "interrupted", "created_by", "created_at", "started_at",
                  "finished_at", "version"]

    def get_rejected_file_url(self, job: ImportJob) -> str | None:
        return job.rejected_file.get_absolute_url() if job.rejected_file_id else None

    def get_progress_rows(self, job: ImportJob) -> int:
        return imports.progress(job)[0] if job.running else job.processed_rows

    def get_interrupted(self, job: ImportJob) -> bool:
        return imports.is_interrupted(job)


class ImportUploadSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="customers.institution, customers.contact or customers.licence")
    file = serializers.FileField(help_text=".xlsx or .csv (UTF-8, UTF-8 with BOM, GBK/GB18030)")


class ImportCheckSerializer(serializers.Serializer):
    mapping = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False,
                                    help_text="file header → column key ('' ignores the column); default: as proposed")
    mode = serializers.ChoiceField(choices=ImportMode.choices, default=ImportMode.ALL_OR_NOTHING)


class ImportJobViewSet(ScopedModelViewSet):
    """Imports run in the background: POST a file, POST …/check/, poll, then POST …/commit/."""

    model = ImportJob
    queryset = ImportJob.objects.none()
    serializer_class = ImportJobSerializer
    permission_classes = [IsAuthenticated]  # each action checks the importer's permission in core.imports
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    select_related = ("created_by", "rejected_file")
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self) -> Any:
        if not imports.importers_for(self.request.user):
            raise PermissionDenied
        return super().get_queryset()

    @extend_schema(request={"multipart/form-data": ImportUploadSerializer}, responses={201: ImportJobSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = ImportUploadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        job = imports.start(actor=request.user, kind=payload.validated_data["kind"],
                            upload=payload.validated_data["file"])
        return Response(ImportJobSerializer(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ImportCheckSerializer, responses={202: ImportJobSerializer})
    @action(detail=True, methods=["post"])
    def check(self, request: Request, pk: str | None = None) -> Response:
        job = self.get_object()
        payload = ImportCheckSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        mapping = payload.validated_data.get("mapping", job.mapping)
        job = imports.configure(actor=request.user, job=job, mapping=mapping, mode=payload.validated_data["mode"])
        return Response(ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={202: ImportJobSerializer})
    @action(detail=True, methods=["post"])
    def commit(self, request: Request, pk: str | None = None) -> Response:
        job = imports.commit(actor=request.user, job=self.get_object())
        return Response(ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses=ImportJobSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        job = imports.cancel(actor=request.user, job=self.get_object())
        return Response(ImportJobSerializer(job).data)


def register(router: DefaultRouter) -> None:
    router.register("import-jobs", ImportJobViewSet, basename="import-job")
