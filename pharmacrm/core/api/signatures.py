"""API of electronic signatures: their representation with validity, the signing input, a record's manifest
(``GET …/{id}/signatures/``, ``?signature=<id>`` checks one: 400 when it belongs to another record), and
``/api/v1/signatures/`` (the signatures the user may see)."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import models
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from pharmacrm.core import signatures
from pharmacrm.core.api.base import ScopedReadOnlyViewSet
from pharmacrm.core.api.errors import error_response
from pharmacrm.core.models import Signature, SignatureMeaning


class SignatureSerializer(serializers.ModelSerializer):
    valid = serializers.SerializerMethodField(help_text="False once the signed record was edited after signing "
                                                        "(re-sign required)")
    object_type = serializers.CharField(source="content_type.model", read_only=True)
    signed_at = serializers.DateTimeField(read_only=True, default_timezone=datetime.UTC,
                                          help_text="When it was signed, in UTC (21 CFR 11.50(a)(2))")

    class Meta:
        model = Signature
        fields = ["id", "signer", "printed_name", "meaning", "signed_at", "content_hash", "object_type",
                  "object_id", "valid"]
        read_only_fields = fields

    def get_valid(self, signature: Signature) -> bool:
        known = self.context.get("signature_validity") or {}
        return known[signature.pk] if signature.pk in known else signatures.verify(signature)


class SigningInputSerializer(serializers.Serializer):
    meaning = serializers.ChoiceField(choices=SignatureMeaning.choices)
    username = serializers.CharField(required=False, allow_blank=True, max_length=150, default="",
                                     help_text="Required at the first signing of a session and always with token "
                                               "authentication (21 CFR 11.200(a)(1))")
    password = serializers.CharField(required=False, allow_blank=True, max_length=128, trim_whitespace=False,
                                     default="", help_text="The signer's current password (re-authentication)")


class ManifestSerializer(serializers.Serializer):
    signed = serializers.BooleanField(help_text="The record has a signature that still stands")
    resign_required = serializers.BooleanField(help_text="No signature yet, or the newest one was invalidated by "
                                                         "a later edit")
    signatures = SignatureSerializer(many=True)


def signing_refused(exc: signatures.SignatureRefused) -> Response:
    """403 for a wrong or missing component; 429 while signing is locked."""
    if isinstance(exc, signatures.SigningLocked):
        return error_response("signing_locked", str(exc), status.HTTP_429_TOO_MANY_REQUESTS,
                              {"password": [str(exc)]})
    return error_response("signature_refused", str(exc), status.HTTP_403_FORBIDDEN, {"password": [str(exc)]})


def manifest_response(request: Request, obj: models.Model) -> Response:
    """A visible record's signatures with their validity; ``?signature=<id>`` names one that must be its own."""
    rows = list(signatures.signatures_of(obj).select_related("content_type"))
    presented = request.query_params.get("signature")
    if presented not in (None, ""):
        signature = Signature.objects.filter(pk=presented).first() if str(presented).isdigit() else None
        if signature is None:
            return error_response("invalid", "Not found.", status.HTTP_400_BAD_REQUEST, {"signature": ["Not found."]})
        try:
            signatures.check_belongs(signature, obj)
        except signatures.SignatureMismatch as exc:
            message = exc.message_dict["signature"][0]
            return error_response("signature_mismatch", message, status.HTTP_400_BAD_REQUEST,
                                  {"signature": [message]})
        rows = [signature]
    data = SignatureSerializer(rows, many=True).data
    return Response({"signed": any(row["valid"] for row in data), "resign_required": signatures.needs_signing(obj),
                     "signatures": data})


MANIFEST_SCHEMA: dict[str, Any] = {
    "request": None, "responses": ManifestSerializer,
    "parameters": [OpenApiParameter("signature", int, description="A signature id to check against this record")],
}


class SignatureViewSet(ScopedReadOnlyViewSet):
    """Signatures the user may see (their own; all for head-office scope), each with its validity."""

    model = Signature
    queryset = Signature.objects.none()
    serializer_class = SignatureSerializer
    select_related = ("content_type",)
    permission_classes = [IsAuthenticated]  # rows are scoped: one's own signatures, all for head-office scope

    def get_serializer(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("many") and args:  # a page: the signed records are read once, not once per signature
            rows = list(args[0])
            context = kwargs.setdefault("context", self.get_serializer_context())
            context["signature_validity"] = signatures.validity(rows)
            args = (rows, *args[1:])
        return super().get_serializer(*args, **kwargs)


def register(router: DefaultRouter) -> None:
    router.register("signatures", SignatureViewSet, basename="signature")


__all__ = ["MANIFEST_SCHEMA", "SignatureSerializer", "SigningInputSerializer", "extend_schema", "manifest_response",
           "signing_refused"]
