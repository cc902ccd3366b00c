"""RELIABILITY check 17: upload hardening (Excel imports, photos and attachments).

Pass criterion: a 30 MB file, an ``.exe`` renamed ``.xlsx``, an xlsx zip bomb (one 1 GB part of zeros, ratio far
above 100, built here from a generator and never written out), an xlsx of 10,000 parts, an xlsx with a DTD /
billion-laughs in ``sheet1.xml``, an SVG, a JPEG carrying a PHP payload and a ``../../x.jpg`` name are all refused
with a field-level error (400 over HTTP) by both entry points — ``core.tabular.read_table`` (every Excel import:
customers, flow data) and ``core.uploads.validate_upload`` (check-in photos, case evidence, content
attachments) — before any full parse: the process's peak RSS grows < 100 MB. Stored names are random
(UUID) paths outside STATIC_ROOT; downloads are ``Content-Disposition: attachment; filename*=`` with nosniff.

Guards: OWASP ASVS 5.2.1–5.4.1 (file size, type by content, archive limits, safe names), 1.5.1 (XXE).
"""

from __future__ import annotations

import io
import re
import resource
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from conftest import login
from pharmacrm.core import uploads
from pharmacrm.core.tabular import TabularError, read_table
from pharmacrm.core.uploads import store_upload, validate_upload

MB = 1024 * 1024
JPEG = (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\xff\xdb\x00\x43\x00" + bytes(64)
        + b"\xff\xd9")
CONTENT_TYPES = (b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                 b'content-types"><Default Extension="xml" ContentType="application/xml"/></Types>')


def xlsx(parts: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def zip_bomb() -> bytes:
    """One sheet part of 1 GB of zeros, compressed on the fly (about 1 MB; nothing large in memory or on disk)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            chunk = bytes(MB)
            for _ in range(1024):
                part.write(chunk)
    return buffer.getvalue()


def many_parts() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        for index in range(10_000):
            archive.writestr(f"xl/x{index}.xml", b"<a/>")
    return buffer.getvalue()


BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                             for i in range(1, 10))
                  + b']><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
                  b'<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>')
WORKBOOK = (b'<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
            b'<sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>')

HOSTILE = {
    "30 MB": ("big.xlsx", lambda: b"PK\x03\x04" + bytes(30 * MB)),
    "exe renamed xlsx": ("tool.xlsx", lambda: b"MZ\x90\x00\x03\x00\x00\x00" + bytes(4096)),
    "zip bomb": ("bomb.xlsx", zip_bomb),
    "10k parts": ("many.xlsx", many_parts),
    "billion laughs": ("laughs.xlsx", lambda: xlsx({"xl/workbook.xml": WORKBOOK,
                                                    "xl/worksheets/sheet1.xml": BILLION_LAUGHS})),
    "svg": ("logo.svg", lambda: b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
    "jpeg with php": ("photo.jpg", lambda: JPEG[:-2] + b"<?php system($_GET['c']); ?>" + b"\xff\xd9"),
}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize("case", list(HOSTILE))
def test_import_reader_refuses_before_parsing(case: str) -> None:
    filename, build = HOSTILE[case]
    content = build()
    before = peak_rss_mb()
    with pytest.raises(TabularError):
        read_table(content, filename=filename, max_bytes=10 * MB, max_rows=10_000)
    assert peak_rss_mb() - before < 100


@pytest.mark.parametrize("case", list(HOSTILE))
@pytest.mark.django_db
def test_attachment_check_refuses_before_storing(case: str) -> None:
    filename, build = HOSTILE[case]
    upload = SimpleUploadedFile(filename, build())
    before = peak_rss_mb()
    with pytest.raises(ValidationError) as refused:
        validate_upload(upload)
    assert "file" in refused.value.message_dict
    assert peak_rss_mb() - before < 100


@pytest.mark.django_db
def test_http_upload_of_hostile_files_is_refused_and_stores_nothing(org: dict[str, Any]) -> None:
    from django.contrib.contenttypes.models import ContentType

    from pharmacrm.core.models import StoredFile

    institution = org["institution_east"]
    client = login(Client(), org["steward"])
    url = f"/files/upload/{ContentType.objects.get_for_model(institution).pk}/{institution.pk}/"
    for case in ("exe renamed xlsx", "svg", "jpeg with php"):
        filename, build = HOSTILE[case]
        client.post(url, {"file": SimpleUploadedFile(filename, build())})
    assert not StoredFile.objects.exists()
    response = client.post(url, {"file": SimpleUploadedFile("big.jpg", JPEG + bytes(30 * MB))})
    assert response.status_code in (302, 400, 413)
    assert not StoredFile.objects.exists()


@pytest.mark.django_db
def test_stored_name_is_random_outside_static_and_download_is_an_attachment(org: dict[str, Any]) -> None:
    institution = org["institution_east"]
    stored = store_upload(actor=org["steward"], upload=SimpleUploadedFile("../../x.jpg", JPEG),
                          attach_to=institution)
    assert stored.original_name == "x.jpg"
    assert re.fullmatch(r"\d{4}/\d{2}/[0-9a-f]{32}", stored.file.name), stored.file.name
    path = Path(stored.file.path).resolve()
    assert Path(settings.STATIC_ROOT).resolve() not in path.parents
    response = login(Client(), org["steward"]).get(f"/files/{stored.pk}/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert "filename" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    chinese = store_upload(actor=org["steward"], upload=SimpleUploadedFile("检查照片.jpg", JPEG),
                           attach_to=institution)
    assert "filename*=utf-8''" in login(Client(), org["steward"]).get(f"/files/{chinese.pk}/")["Content-Disposition"]


@pytest.mark.django_db
def test_the_check_notices_a_missing_payload_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(uploads, "EMBEDDED_CODE", re.compile(rb"(?!x)x"))  # a scan that never matches
    filename, build = HOSTILE["jpeg with php"]
    assert validate_upload(SimpleUploadedFile(filename, build())) == "image/jpeg"
