"""Shell pages: home, health, notifications, files, record history and the audit search."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from pharmacrm.core.audit import log_event
from pharmacrm.core.filters import AuditEntryFilter
from pharmacrm.core.generic import ScopedListView, get_visible_or_404
from pharmacrm.core.masking import mask_changes
from pharmacrm.core.models import AuditAction, AuditEntry, Notification, StoredFile, WorkerHeartbeat
from pharmacrm.core.notifications import mark_read
from pharmacrm.core.querysets import is_scoped
from pharmacrm.core.uploads import store_upload
from pharmacrm.org.scope import can_see_unmasked_personal_data


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    context: dict[str, Any] = {
        "notifications": Notification.objects.visible_to(user)[:5],
    }
    return render(request, "core/home.html", context)


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever a page links to (the API docs, a PDF, the 500 page): the app's icon."""
    response = redirect(static("core/favicon.svg"))
    response["Cache-Control"] = "public, max-age=86400"
    return response


def healthz(request: HttpRequest) -> JsonResponse:
    """Database and worker status, for load balancers and monitoring (no login)."""
    result: dict[str, Any] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        result["database"] = "ok"
    except Exception:  # noqa: BLE001 — any failure means "not ok"
        result["database"] = "error"
    beat = WorkerHeartbeat.objects.order_by("-beat_at").first() if result["database"] == "ok" else None
    if beat is None:
        result["worker"] = "missing"
    else:
        age = (timezone.now() - beat.beat_at).total_seconds()
        result["worker"] = "ok" if age <= settings.WORKER_HEARTBEAT_STALE_SECONDS else "stale"
        result["worker_last_beat"] = beat.beat_at.isoformat()
    result["status"] = "ok" if result["database"] == "ok" and result["worker"] == "ok" else "degraded"
    return JsonResponse(result, status=200 if result["database"] == "ok" else 503)


class NotificationListView(ScopedListView):
    model = Notification
    template_name = "core/notification_list.html"
    sort_options = {"-id": ("-id",)}


@login_required
@require_POST
def notification_mark_read(request: HttpRequest) -> HttpResponse:
    ids = request.POST.getlist("id")
    mark_read(request.user, [int(i) for i in ids if i.isdigit()] if ids else None)
    if request.htmx:
        return render(request, "core/_bell.html", {"unread_count": 0})
    return redirect("core:notification_list")


@login_required
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    notification = get_visible_or_404(Notification, request.user, pk=pk)
    mark_read(request.user, [notification.pk])
    return redirect(notification.url or "core:notification_list")


def visible_record_or_404(user: Any, content_type_id: int, object_id: str,
                          history: bool = False) -> tuple[ContentType, Any]:
    """Any record addressed by content type and id, if it is a served model and the user may see it
    (with ``history``: may read its audit entries)."""
    try:
        content_type = ContentType.objects.get_for_id(content_type_id)
    except ContentType.DoesNotExist as exc:
        raise Http404 from exc
    model = content_type.model_class()
    if model is None or not is_scoped(model):
        raise Http404
    if not history:
        return content_type, get_visible_or_404(model, user, pk=object_id)
    try:
        return content_type, model._default_manager.history_visible_to(user).get(pk=object_id)
    except (model.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


@login_required
def file_download(request: HttpRequest, pk: int) -> HttpResponse:
    """Serve an upload only to users who can see the record it belongs to."""
    stored = get_visible_or_404(StoredFile, request.user, pk=pk)
    log_event(AuditAction.DOWNLOAD, actor=request.user, obj=stored)
    response = FileResponse(stored.file.open("rb"), as_attachment=True, filename=stored.original_name,
                            content_type=stored.mime_type)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_POST
def file_upload(request: HttpRequest, content_type_id: int, object_id: str) -> HttpResponse:
    """Attach a file to a record the user can see and may change."""
    content_type, target = visible_record_or_404(request.user, content_type_id, object_id)
    if not request.user.has_perm(f"{content_type.app_label}.change_{content_type.model}"):
        raise PermissionDenied
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, _("Choose a file to upload."))
    else:
        try:
            store_upload(actor=request.user, upload=upload, attach_to=target,
                         description=request.POST.get("description", ""))
            messages.success(request, _("File uploaded."))
        except ValidationError as exc:
            for error in exc.message_dict.get("file", exc.messages):
                messages.error(request, error)
    return redirect(target.get_absolute_url() if hasattr(target, "get_absolute_url") else "core:home")


@login_required
def history(request: HttpRequest, content_type_id: int, object_id: str) -> HttpResponse:
    """The History tab of any record: its audit entries, if the user may see the record."""
    _content_type, obj = visible_record_or_404(request.user, content_type_id, object_id, history=True)
    entries = list(AuditEntry.objects.for_object(obj).order_by("-id")[:200])
    personal = getattr(obj, "personal_fields", ())
    if personal and not can_see_unmasked_personal_data(request.user):
        # the old and new values of a phone or a birthday are personal data too: masked here as on the
        # record's page, where seeing them in clear is an audited reveal (PIPL; DOMAIN.md 2.4)
        for entry in entries:
            entry.changes = mask_changes(entry.changes or {}, personal)
    elif personal:  # sealed values (resident ID, mobile) are kept as ciphertext in the trail: open them here
        from pharmacrm.core.crypto import open_changes

        for entry in entries:
            entry.changes = open_changes(entry.changes or {})
    return render(request, "core/_history.html", {"entries": entries, "object": obj})


class AuditListView(ScopedListView):
    """Audit search for compliance and admins: by user, object, time and action."""

    model = AuditEntry
    permission_required = "core.view_auditentry"
    template_name = "core/audit_list.html"
    filterset_class = AuditEntryFilter
    select_related = ("content_type",)
    sort_options = {"-id": ("-id",), "id": ("id",)}
    page_size = 50
    export_permission = "core.export_auditentry"
    export_name = "audit"
    export_columns = (
        ("id", "pk"), ("time", "created_at"), ("user", "actor_username"), ("action", "action"),
        ("object type", "content_type.model"), ("object id", "object_id"), ("object", "object_repr"),
        ("changes", "changes"), ("reason", "reason"), ("request id", "request_id"), ("ip", "ip_address"),
        ("hash", "entry_hash"),
    )
