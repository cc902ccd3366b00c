"""Shared mechanisms' tables: audit chain, policy values, calendar, notifications,
uploads, approvals with electronic signatures, and the worker heartbeat."""

from __future__ import annotations

import uuid
from typing import Any, Self

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from pharmacrm.core.querysets import AuditedQuerySet, ScopedQuerySet, refuse_unaudited


class BaseModel(models.Model):
    """Common shape of business records: timestamps and an optimistic-lock version.

    ``save()`` and ``delete()`` of a business record run only inside the core.audit helpers, which write its audit
    entry in the same transaction (RELIABILITY check 2: a bare ``obj.save()`` would change it unaudited).
    Log and derived tables set ``audit_exempt``.
    """

    created_at = models.DateTimeField(_("created at"), auto_now_add=True, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True, editable=False)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    #: fields a user may never set directly (mass-assignment guard)
    protected_fields: tuple[str, ...] = ("id", "created_at", "updated_at", "version")
    #: True for log and derived tables written directly (notifications): not business records
    audit_exempt = False

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.audit_exempt:
            refuse_unaudited("save")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        if not self.audit_exempt:
            refuse_unaudited("delete")
        return super().delete(*args, **kwargs)


# --- Audit trail -----------------------------------------------------------------


class AuditAction(models.TextChoices):
    CREATE = "create", _("Create")
    UPDATE = "update", _("Update")
    DELETE = "delete", _("Delete")
    TRANSITION = "transition", _("Status change")
    LOGIN = "login", _("Login")
    LOGIN_FAILED = "login_failed", _("Failed login")
    LOCKOUT = "lockout", _("Account locked")
    LOGOUT = "logout", _("Logout")
    PASSWORD_CHANGE = "password_change", _("Password change")
    EXPORT = "export", _("Export")
    VIEW_PERSONAL_DATA = "view_personal_data", _("View of personal data")
    APPROVE = "approve", _("Approve")
    REJECT = "reject", _("Reject")
    SIGN = "sign", _("Electronic signature")
    SIGN_FAILED = "sign_failed", _("Failed signature")
    DOWNLOAD = "download", _("File download")


class AuditEntryQuerySet(models.QuerySet):
    """Audit entries are read by compliance and admins; others see a record's History tab."""

    scoped = True

    def visible_to(self, user: Any) -> Self:
        from pharmacrm.org.scope import can_read_audit_trail

        return self if can_read_audit_trail(user) else self.none()

    def for_object(self, obj: models.Model) -> Self:
        content_type = ContentType.objects.get_for_model(obj, for_concrete_model=False)
        return self.filter(content_type_id=content_type.pk, object_id=str(obj.pk))

    def update(self, **kwargs: Any) -> int:
        raise PermissionError("audit entries are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("audit entries are append-only")

    def bulk_update(self, objs: Any, fields: Any, *args: Any, **kwargs: Any) -> int:
        raise PermissionError("audit entries are append-only")


class AuditEntry(models.Model):
    """One append-only, hash-chained line of the audit trail.

    ``entry_hash`` = sha256(previous hash + canonical JSON of this entry), so
    altering, removing or inserting an entry breaks the chain, which
    ``manage.py verify_audit_chain`` detects. A database trigger refuses UPDATE
    and DELETE on this table (migration 0002).
    """

    created_at = models.DateTimeField(_("time"), db_index=True)
    # No FK constraint: audit rows must outlive anything they mention.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING,
        db_constraint=False, related_name="+", verbose_name=_("user"),
    )
    actor_username = models.CharField(_("username"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=32, choices=AuditAction.choices, db_index=True)
    content_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+",
    )
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=255, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    previous_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, unique=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-id"]
        permissions = [("export_auditentry", _("Can export the audit trail"))]
        indexes = [
            models.Index(fields=["content_type", "object_id", "id"], name="audit_object_idx"),
            models.Index(fields=["actor", "id"], name="audit_actor_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.object_repr}"


class AuditChainHead(models.Model):
    """Singleton holding the chain's tip: serialises appends and detects tail removal."""

    last_hash = models.CharField(max_length=64, default="0" * 64)
    entry_count = models.BigIntegerField(default=0)

    objects = AuditedQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.entry_count} entries, tip {self.last_hash[:12]}"


# --- Policy parameters -------------------------------------------------------------


class PolicyValueQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        # Policy values are company rules, readable by every signed-in user.
        return self if getattr(user, "is_authenticated", False) else self.none()


class PolicyValue(BaseModel):
    """A value of a declared policy parameter, effective from a date (core.policy)."""

    key = models.CharField(_("parameter"), max_length=100, db_index=True)
    value = models.JSONField(_("value"))
    effective_from = models.DateField(_("effective from"))
    reason = models.TextField(_("reason"))
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("changed by")
    )

    objects = PolicyValueQuerySet.as_manager()

    class Meta:
        verbose_name = _("policy value")
        verbose_name_plural = _("policy values")
        ordering = ["key", "-effective_from", "-id"]
        indexes = [models.Index(fields=["key", "effective_from"], name="policy_key_date_idx")]

    def __str__(self) -> str:
        return f"{self.key}={self.value} @ {self.effective_from}"


# --- Working-day calendar overrides ------------------------------------------------


class CalendarDayQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        return self if getattr(user, "is_authenticated", False) else self.none()


class CalendarDay(BaseModel):
    """An admin-entered holiday or make-up working day (调休).

    Takes precedence over the chinese-calendar package, and is the only source
    for years the package does not cover.
    """

    date = models.DateField(_("date"), unique=True)
    is_working_day = models.BooleanField(_("working day"))
    name = models.CharField(_("name"), max_length=100, blank=True)

    objects = CalendarDayQuerySet.as_manager()

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


# --- Notifications -------------------------------------------------------------------


class NotificationQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(recipient=user)

    def unread(self) -> Self:
        return self.filter(read_at__isnull=True)


class Notification(BaseModel):
    """An in-app message to one user; also mailed when asked (core.notifications)."""

    audit_exempt = True  # a message log, not a business record (read receipts are not audited either)

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications",
        verbose_name=_("recipient"),
    )
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("message"), blank=True)
    url = models.CharField(_("link"), max_length=500, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("emailed at"), null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-id"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notification_unread_idx")]

    def __str__(self) -> str:
        return self.title


# --- Uploaded files --------------------------------------------------------------------


class StoredFileQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        """A file is visible when the record it is attached to is visible."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        visible = Q(uploaded_by=user)
        for content_type_id, model in self._attached_models():
            if hasattr(model._default_manager.get_queryset(), "visible_to"):
                ids = model._default_manager.visible_to(user).values("pk")
                visible |= Q(content_type_id=content_type_id, object_id__in=_as_text(ids))
        return self.filter(visible)

    def _attached_models(self) -> list[tuple[int, type[models.Model]]]:
        result = []
        for content_type_id in self.values_list("content_type_id", flat=True).distinct().order_by():
            model = ContentType.objects.get_for_id(content_type_id).model_class()
            if model is not None:
                result.append((content_type_id, model))
        return result


def _as_text(ids: models.QuerySet) -> models.QuerySet:
    from django.db.models.functions import Cast

    return ids.annotate(pk_text=Cast("pk", models.CharField())).values("pk_text")


def upload_path(instance: StoredFile, filename: str) -> str:
    # Never trust the client's name on disk: a random UUID, no extension games.
    from django.utils import timezone

    return f"{timezone.now():%Y/%m}/{uuid.uuid4().hex}"


class StoredFile(BaseModel):
    """An uploaded file: content-sniffed, size-limited, stored outside the static path."""

    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.CharField(max_length=64)
    file = models.FileField(upload_to=upload_path, max_length=200)
    original_name = models.CharField(_("file name"), max_length=255)
    mime_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    description = models.CharField(_("description"), max_length=200, blank=True)

    objects = StoredFileQuerySet.as_manager()

    class Meta:
        verbose_name = _("file")
        verbose_name_plural = _("files")
        ordering = ["-id"]
        indexes = [models.Index(fields=["content_type", "object_id"], name="file_object_idx")]

    def __str__(self) -> str:
        return self.original_name

    def get_absolute_url(self) -> str:
        return reverse("core:file_download", args=[self.pk])


# --- Approvals and electronic signatures ------------------------------------------------


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")


class ApprovalRequestQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        """Requesters see theirs; approvers see those with a step for their role."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        from pharmacrm.org.scope import scope_of

        if scope_of(user).everything:
            return self
        return self.filter(Q(requested_by=user) | Q(steps__role=user.role)).distinct()

    def awaiting(self, user: Any) -> Self:
        """Pending requests whose current step is for the user's role."""
        return self.filter(
            status=ApprovalStatus.PENDING, steps__role=user.role, steps__decision="",
            steps__position=models.F("current_position"),
        )


class ApprovalRequest(BaseModel):
    """A request that passes through ordered steps, each decided by a role (core.approvals)."""

    kind = models.CharField(_("kind"), max_length=64, db_index=True)
    title = models.CharField(_("title"), max_length=200)
    subject_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    subject_id = models.CharField(max_length=64)
    status = models.CharField(
        _("status"), max_length=16, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING, db_index=True
    )
    current_position = models.PositiveSmallIntegerField(default=1)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("requested by")
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    objects = ApprovalRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("approval request")
        verbose_name_plural = _("approval requests")
        ordering = ["-id"]
        indexes = [models.Index(fields=["subject_type", "subject_id"], name="approval_subject_idx")]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("core:approval_detail", args=[self.pk])

    @property
    def subject(self) -> models.Model | None:
        model = self.subject_type.model_class()
        return model._base_manager.filter(pk=self.subject_id).first() if model else None


class ApprovalStepQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        return self.filter(request__in=ApprovalRequest.objects.visible_to(user))


class ApprovalStep(BaseModel):
    """One role's decision within an approval request."""

    class Decision(models.TextChoices):
        NONE = "", _("Waiting")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    request = models.ForeignKey(ApprovalRequest, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    role = models.CharField(_("role"), max_length=32)
    decision = models.CharField(_("decision"), max_length=16, choices=Decision.choices, blank=True, default="")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    signature = models.OneToOneField(
        "core.Signature", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = ApprovalStepQuerySet.as_manager()

    class Meta:
        verbose_name = _("approval step")
        verbose_name_plural = _("approval steps")
        ordering = ["request", "position"]
        constraints = [models.UniqueConstraint(fields=["request", "position"], name="approval_step_unique")]

    def __str__(self) -> str:
        return f"{self.request_id}/{self.position} {self.role}"


class SignatureMeaning(models.TextChoices):
    """Controlled list of what a signature means (21 CFR 11.50)."""

    APPROVAL = "approval", _("Approved by")
    REJECTION = "rejection", _("Rejected by")
    REVIEW = "review", _("Reviewed by")
    AUTHORSHIP = "authorship", _("Authored by")
    RESPONSIBILITY = "responsibility", _("Responsible")


class SignatureQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        if not getattr(user, "is_authenticated", False):
            return self.none()
        from pharmacrm.org.scope import scope_of

        return self if scope_of(user).everything else self.filter(signer=user)


class Signature(BaseModel):
    """An electronic signature: who, when, meaning, bound to a hash of the signed content."""

    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    printed_name = models.CharField(_("printed name"), max_length=150)
    meaning = models.CharField(_("meaning"), max_length=32, choices=SignatureMeaning.choices)
    signed_at = models.DateTimeField(_("signed at"))
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.CharField(max_length=64)
    content_hash = models.CharField(max_length=64)

    objects = SignatureQuerySet.as_manager()

    class Meta:
        verbose_name = _("electronic signature")
        verbose_name_plural = _("electronic signatures")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.printed_name} · {self.get_meaning_display()} · {self.signed_at:%Y-%m-%d %H:%M}"


# --- Worker heartbeat ------------------------------------------------------------------


class WorkerHeartbeat(models.Model):
    """Last beat of each background worker; /healthz reports its age. Not business data."""

    worker = models.CharField(max_length=100, unique=True)
    beat_at = models.DateTimeField()

    objects = AuditedQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.worker} {self.beat_at}"


# --- Saved filters ------------------------------------------------------------------------


class SavedFilterQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        """A saved filter is personal: only its owner sees or uses it."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(user=user)


class SavedFilter(BaseModel):
    """A named list query (filters, search and sort) a user saved on one list page."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_filters",
                             verbose_name=_("user"))
    #: which list it belongs to: the list page's URL name, e.g. "customers:institution_list"
    list_name = models.CharField(_("list"), max_length=100)
    name = models.CharField(_("name"), max_length=80)
    querystring = models.CharField(_("filters"), max_length=2000, blank=True)

    objects = SavedFilterQuerySet.as_manager()

    class Meta:
        verbose_name = _("saved filter")
        verbose_name_plural = _("saved filters")
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["user", "list_name", "name"], name="saved_filter_unique_name")]

    def __str__(self) -> str:
        return self.name


# --- Import jobs -------------------------------------------------------------------------


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded")
    CHECKING = "checking", _("Checking")
    CHECKED = "checked", _("Checked")
    IMPORTING = "importing", _("Importing")
    DONE = "done", _("Imported")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class ImportMode(models.TextChoices):
    ALL_OR_NOTHING = "all", _("All rows or nothing")
    VALID_ROWS = "valid", _("Import the valid rows, give me the rejected ones as a file")


class ImportJobQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        """Stewards see their own jobs; users whose scope is everything see all of them."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        from pharmacrm.org.scope import scope_of

        return self if scope_of(user).everything else self.filter(created_by=user)


class ImportJob(BaseModel):
    """One spreadsheet import: upload → column mapping → dry run → commit, run by the worker.

    ``kind`` names an importer registered in ``core.imports``. Errors found by the dry
    run are kept per row and column (the first ``MAX_STORED_ERRORS``); the rejected rows
    are offered back as a file.
    """

    MAX_STORED_ERRORS = 1000

    kind = models.CharField(_("import type"), max_length=60)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("created by"))
    original_name = models.CharField(_("file name"), max_length=255)
    source = models.ForeignKey(StoredFile, on_delete=models.PROTECT, related_name="+", null=True, blank=True,
                               verbose_name=_("file"))
    headers = models.JSONField(_("columns in the file"), default=list, blank=True)
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    mode = models.CharField(_("mode"), max_length=10, choices=ImportMode.choices, default=ImportMode.ALL_OR_NOTHING)
    status = models.CharField(_("status"), max_length=12, choices=ImportStatus.choices, default=ImportStatus.UPLOADED)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    processed_rows = models.PositiveIntegerField(_("rows processed"), default=0)
    error_rows = models.PositiveIntegerField(_("rows with errors"), default=0)
    error_count = models.PositiveIntegerField(_("errors"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    rejected_file = models.ForeignKey(StoredFile, on_delete=models.PROTECT, related_name="+", null=True, blank=True,
                                      verbose_name=_("rejected rows"))
    message = models.TextField(_("message"), blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    objects = ImportJobQuerySet.as_manager()

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-id"]
        indexes = [models.Index(fields=["created_by", "-id"], name="import_job_user_idx")]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.get_status_display()})"

    @property
    def progress_percent(self) -> int:
        return min(100, round(100 * self.processed_rows / self.total_rows)) if self.total_rows else 0

    @property
    def running(self) -> bool:
        return self.status in (ImportStatus.CHECKING, ImportStatus.IMPORTING)
