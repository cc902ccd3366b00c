"""File uploads: type sniffed from content, size limited, stored under a random name
outside the static path, served only after a permission check (core.views.file_download)."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import filetype
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.core.files.uploadedfile import UploadedFile
from django.db import models
from django.utils.translation import gettext as _

from pharmacrm.core.audit import audited_create
from pharmacrm.core.models import StoredFile

#: sniffed MIME type → what we accept it as. No SVG, HTML or executables.
ALLOWED_TYPES = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/zip": "zip-office",  # filetype reports some xlsx files as zip; checked below
}


#: code a web server or a browser would run if the file were ever served as something else (a polyglot image)
EMBEDDED_CODE = re.compile(rb"<\?php|<\?=|<%|<script", re.IGNORECASE)


def _sniff(head: bytes) -> str | None:
    kind = filetype.guess(head)
    return kind.mime if kind else None


def upload_limit_bytes() -> int:
    """The admin's policy (uploads.max_megabytes), never above the server's hard limit (UPLOAD_MAX_BYTES)."""
    from pharmacrm.core import policy

    return min(int(policy.get("uploads.max_megabytes")) * 1024 * 1024, settings.UPLOAD_MAX_BYTES)


def validate_upload(upload: UploadedFile) -> str:
    """Return the sniffed MIME type, or raise a field-level ValidationError."""
    if upload.size is None or upload.size == 0:
        raise ValidationError({"file": _("The file is empty.")})
    limit = upload_limit_bytes()
    if upload.size > limit:
        raise ValidationError({"file": _("The file is larger than %(limit)s MB.")
                               % {"limit": f"{limit / (1024 * 1024):g}"}})
    upload.seek(0)
    head = upload.read(8192)
    upload.seek(0)
    mime = _sniff(head)
    if mime == "application/zip" and b"[Content_Types].xml" in head:
        mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    if mime not in ALLOWED_TYPES or mime == "application/zip":
        raise ValidationError({"file": _("This type of file is not accepted. Upload a JPEG, PNG, WebP, PDF or XLSX.")})
    if mime.startswith("image/") and _contains_code(upload):
        raise ValidationError({"file": _("The image contains embedded code and was refused.")})
    if mime == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
        from pharmacrm.core.tabular import TabularError, inspect_workbook

        try:
            inspect_workbook(upload.read(), max_bytes=limit)
        except TabularError as error:
            raise ValidationError({"file": error.message}) from error
        finally:
            upload.seek(0)
    return mime


def _contains_code(upload: UploadedFile) -> bool:
    """Scan an image chunk by chunk (with an overlap, so a marker split across chunks is found too)."""
    upload.seek(0)
    tail = b""
    try:
        for chunk in upload.chunks():
            if EMBEDDED_CODE.search(tail + chunk):
                return True
            tail = chunk[-8:]
        return False
    finally:
        upload.seek(0)


def store_upload(*, actor: Any, upload: UploadedFile, attach_to: models.Model, description: str = "") -> StoredFile:
    """Validate and keep an uploaded file attached to a record the actor can see."""
    mime = validate_upload(upload)
    name = (upload.name or "upload").replace("\\", "/").rsplit("/", 1)[-1][:255]
    return store_file(actor=actor, content=upload, name=name, attach_to=attach_to, mime_type=mime,
                      description=description)


def store_file(*, actor: Any, content: Any, name: str, attach_to: models.Model, mime_type: str,
               description: str = "") -> StoredFile:
    """Keep a file whose content the caller has already checked (an import its reader parsed,
    a generated rejected-rows workbook), attached to a record like any upload."""
    digest = hashlib.sha256()
    size = 0
    content.seek(0)
    for chunk in content.chunks():
        digest.update(chunk)
        size += len(chunk)
    content.seek(0)
    stored = content if getattr(content, "name", None) else File(content, name=name)  # ContentFile has no name
    return audited_create(
        StoredFile, actor=actor,
        content_type=ContentType.objects.get_for_model(attach_to, for_concrete_model=False),
        object_id=str(attach_to.pk), file=stored, original_name=name[:255], mime_type=mime_type,
        size=size, sha256=digest.hexdigest(), uploaded_by=actor, description=description[:200],
    )
