"""Uploads: sniffed type, size limit, random names outside static, downloads only for who can see the record."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from conftest import login
from pharmacrm.core.models import StoredFile

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


def _upload_url(obj: Any) -> str:
    return f"/files/upload/{ContentType.objects.get_for_model(obj).pk}/{obj.pk}/"


def test_upload_is_stored_under_a_random_name_and_served_to_who_may_see(client: Any, org: dict[str, Any],
                                                                       tmp_path: Path) -> None:
    with override_settings(MEDIA_ROOT=tmp_path):
        institution = org["institution_east"]
        login(client, org["rep_east"])
        response = client.post(_upload_url(institution),
                                {"file": SimpleUploadedFile("../../营业执照.png", PNG, "image/svg+xml")})
        assert response.status_code == 302
        stored = StoredFile.objects.get()
        assert stored.mime_type == "image/png" and stored.original_name == "营业执照.png"
        assert "营业执照" not in stored.file.name and ".." not in stored.file.name
        assert not str(Path(stored.file.path)).startswith(str(settings.STATIC_ROOT))
        download = client.get(stored.get_absolute_url())
        assert download.status_code == 200
        assert download["Content-Disposition"].startswith("attachment")
        assert download["X-Content-Type-Options"] == "nosniff"
        client.force_login(org["rep_west"])
        assert client.get(stored.get_absolute_url()).status_code == 404


def test_disguised_and_dangerous_files_are_refused(client: Any, org: dict[str, Any], tmp_path: Path) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("payload.exe", b"MZ" + b"\0" * 100)
    bad_files = [
        SimpleUploadedFile("virus.xlsx", b"MZ\x90\x00" + b"\0" * 200),
        SimpleUploadedFile("drawing.svg", b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"),
        SimpleUploadedFile("page.png", b"<html><script>alert(1)</script></html>"),
        SimpleUploadedFile("archive.xlsx", archive.getvalue()),
        SimpleUploadedFile("empty.pdf", b""),
    ]
    with override_settings(MEDIA_ROOT=tmp_path):
        login(client, org["rep_east"])
        for upload in bad_files:
            client.post(_upload_url(org["institution_east"]), {"file": upload})
        assert StoredFile.objects.count() == 0


@override_settings(UPLOAD_MAX_BYTES=1024)
def test_oversized_upload_is_refused(client: Any, org: dict[str, Any], tmp_path: Path) -> None:
    with override_settings(MEDIA_ROOT=tmp_path):
        login(client, org["rep_east"])
        client.post(_upload_url(org["institution_east"]), {"file": SimpleUploadedFile("big.png", PNG + b"\0" * 4096)})
        assert StoredFile.objects.count() == 0


def test_cannot_attach_to_a_record_out_of_scope(client: Any, org: dict[str, Any], tmp_path: Path) -> None:
    with override_settings(MEDIA_ROOT=tmp_path):
        login(client, org["rep_east"])
        response = client.post(_upload_url(org["institution_west"]), {"file": SimpleUploadedFile("a.png", PNG)})
        assert response.status_code == 404
        assert StoredFile.objects.count() == 0


def test_policy_lowers_the_upload_limit(client: Any, org: dict[str, Any], tmp_path: Path) -> None:
    from pharmacrm.core import policy

    policy.set_value(actor=org["admin"], key="uploads.max_megabytes", value=1, effective_from=policy.today(),
                     reason="存储空间有限")
    with override_settings(MEDIA_ROOT=tmp_path):
        login(client, org["rep_east"])
        big = SimpleUploadedFile("scan.png", PNG + b"\0" * (1024 * 1024 + 10))
        client.post(_upload_url(org["institution_east"]), {"file": big})
        assert StoredFile.objects.count() == 0
        client.post(_upload_url(org["institution_east"]), {"file": SimpleUploadedFile("ok.png", PNG)})
        assert StoredFile.objects.count() == 1


def test_unserved_models_are_not_found_not_errors(client: Any, org: dict[str, Any]) -> None:
    from pharmacrm.core.models import AuditChainHead

    login(client, org["admin"])
    content_type = ContentType.objects.get_for_model(AuditChainHead).pk
    assert client.get(f"/history/{content_type}/1/").status_code == 404
    assert client.post(f"/files/upload/{content_type}/1/", {}).status_code == 404
    assert client.get("/history/999999/1/").status_code == 404
    assert client.get(f"/history/{ContentType.objects.get_for_model(StoredFile).pk}/abc/").status_code == 404
