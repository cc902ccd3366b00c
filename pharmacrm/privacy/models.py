"""Personal-information protection (PIPL): the access log, data-subject requests, bulk-export approvals.

* ``PersonalDataAccess`` — who saw or exported which persons' data, when and why (PIPL Art.55,
  GB/T 35273 §11.3). Append-only: database triggers (``core.dbguards``) refuse updates, and deletes
  of rows younger than the legal floor of 180 days; the retention job removes older ones.
* ``SubjectRequest`` — a person's request to access, correct or delete their data (PIPL Art.44–47),
  due within the policy's days (at most 30).
* ``BulkExport`` — an export of more persons than the policy allows without sign-off, waiting for the
  DPO's approval (``core.approvals``); the approved export is logged with its approver.
"""

from __future__ import annotations

import datetime
from typing import Any, Self

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pharmacrm.core.models import BaseModel
from pharmacrm.core.querysets import ScopedQuerySet
from pharmacrm.customers.models import Contact

#: the legal floor of the access log's retention (days); the database refuses to delete younger rows
ACCESS_LOG_MIN_DAYS = 180


def _dpo_only(queryset: Any, user: Any, permission: str) -> Any:
    if getattr(user, "is_authenticated", False) and user.has_perm(permission):
        return queryset
    return queryset.none()


class AccessPurpose(models.TextChoices):
    VIEW = "view", _("Viewed a person's page")
    REVEAL = "reveal", _("Revealed personal data")
    LIST = "list", _("Listed persons")
    API_DETAIL = "api_detail", _("Read a person through the API")
    API_LIST = "api_list", _("Listed persons through the API")
    EXPORT = "export", _("Exported persons")
    SUBJECT_ACCESS = "subject_access", _("Copy for the person (access request)")
    CORRECTION = "correction", _("Correction on the person's request")
    DELETION = "deletion", _("Anonymised on the person's request")
    RETENTION = "retention", _("Anonymised at the end of retention")


class PersonalDataAccessQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        """The log is the DPO's: nobody else reads who looked at whom."""
        return _dpo_only(self, user, "privacy.view_personaldataaccess")

    def about(self, contact_id: int) -> Self:
        return self.filter(subject_ids__contains=f",{int(contact_id)},")


class PersonalDataAccess(models.Model):
    """One read or export of persons' data: ⟨viewer, subjects, purpose, time⟩. Never updated."""

    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    viewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("viewer"))
    viewer_username = models.CharField(_("username"), max_length=150, blank=True)
    purpose = models.CharField(_("purpose"), max_length=16, choices=AccessPurpose.choices, db_index=True)
    #: contact ids as ",1,2,3," so "about contact 2" is one LIKE on both engines
    subject_ids = models.TextField(_("persons"))
    subject_count = models.PositiveIntegerField(_("number of persons"))
    path = models.CharField(_("where"), max_length=300, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("approved by"))
    detail = models.CharField(_("detail"), max_length=300, blank=True)

    objects = PersonalDataAccessQuerySet.as_manager()

    class Meta:
        verbose_name = _("personal-data access")
        verbose_name_plural = _("personal-data accesses")
        ordering = ["-at", "-id"]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"{self.viewer_username} {self.purpose} {self.at:%Y-%m-%d %H:%M}"

    @property
    def contact_ids(self) -> list[int]:
        return [int(part) for part in self.subject_ids.strip(",").split(",") if part]


class RequestKind(models.TextChoices):
    ACCESS = "access", _("Access / copy")
    CORRECTION = "correction", _("Correction")
    DELETION = "deletion", _("Deletion")


class RequestStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    REFUSED = "refused", _("Refused")


class SubjectRequestQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        return _dpo_only(self, user, "privacy.view_subjectrequest")

    def overdue(self, on: datetime.date) -> Self:
        return self.filter(status=RequestStatus.OPEN, due_on__lt=on)


class SubjectRequest(BaseModel):
    """A data subject's request (PIPL Art.44–47), answered by the DPO before ``due_on``."""

    kind = models.CharField(_("kind"), max_length=16, choices=RequestKind.choices)
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="+", verbose_name=_("person"))
    received_on = models.DateField(_("received on"))
    due_on = models.DateField(_("answer by"), editable=False)
    channel = models.CharField(_("received through"), max_length=100, blank=True)
    details = models.TextField(_("what was asked"), max_length=5000, blank=True)
    corrections = models.JSONField(_("corrections"), default=dict, blank=True,
                                   help_text=_("For a correction: field → corrected value."))
    status = models.CharField(_("status"), max_length=16, choices=RequestStatus.choices, default=RequestStatus.OPEN,
                              db_index=True, editable=False)
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("handled by"), editable=False)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True, editable=False)
    outcome = models.TextField(_("outcome"), max_length=5000, blank=True)

    objects = SubjectRequestQuerySet.as_manager()
    protected_fields = (*BaseModel.protected_fields, "due_on", "status", "handled_by", "closed_at")

    class Meta:
        verbose_name = _("data-subject request")
        verbose_name_plural = _("data-subject requests")
        ordering = ["-received_on", "-id"]
        permissions = [("handle_subjectrequest", _("Can handle data-subject requests"))]

    def __str__(self) -> str:
        return f"DSR{self.pk or 0:06d} {self.get_kind_display()}"

    def get_absolute_url(self) -> str:
        return reverse("privacy:request_detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status == RequestStatus.OPEN


class ExportStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    USED = "used", _("Exported")


class BulkExportQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        if not getattr(user, "is_authenticated", False):
            return self.none()
        if user.has_perm("privacy.view_personaldataaccess"):
            return self
        return self.filter(requested_by=user)


class BulkExport(BaseModel):
    """A request to export more persons than ``privacy.bulk_export_threshold`` (PIPL Art.6 minimisation)."""

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("requested by"))
    list_name = models.CharField(_("list"), max_length=64)
    query = models.CharField(_("filters"), max_length=1000, blank=True)
    person_count = models.PositiveIntegerField(_("persons"))
    purpose = models.CharField(_("purpose"), max_length=300)
    status = models.CharField(_("status"), max_length=16, choices=ExportStatus.choices, default=ExportStatus.PENDING,
                              editable=False)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("approved by"), editable=False)
    used_at = models.DateTimeField(_("exported at"), null=True, blank=True, editable=False)

    objects = BulkExportQuerySet.as_manager()
    protected_fields = (*BaseModel.protected_fields, "status", "approved_by", "used_at")
    signature_exclude = ("approved_by", "used_at")

    class Meta:
        verbose_name = _("bulk export")
        verbose_name_plural = _("bulk exports")
        ordering = ["-id"]

    def __str__(self) -> str:
        return _("Export of %(count)s persons (%(list)s)") % {"count": self.person_count, "list": self.list_title}

    def get_absolute_url(self) -> str:
        return reverse("privacy:export_detail", args=[self.pk])

    @property
    def list_path(self) -> str:
        """The exported list's page (requests before lists were named by path were all of contacts)."""
        return self.list_name if self.list_name.startswith("/") else reverse("customers:contact_list")

    @property
    def list_title(self) -> str:
        from django.urls import Resolver404, resolve

        try:
            view = resolve(self.list_path).func
        except Resolver404:
            return self.list_name
        model = getattr(getattr(view, "view_class", None), "model", None)
        return str(model._meta.verbose_name_plural) if model is not None else self.list_name

    @property
    def export_url(self) -> str:
        return f"{self.list_path}?{self.query}{'&' if self.query else ''}format=csv"


class RetainedQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        """Quality assurance only: they own the GxP records that keep these persons."""
        return _dpo_only(self, user, "privacy.view_retainedpersonaldata")


class RetainedPersonalData(BaseModel):
    """What a deletion could not erase because a GxP record must keep it (PIPL Art.47 ¶2, 21 CFR 211.198):
    the person's identity, sealed, readable by quality assurance only."""

    contact = models.OneToOneField(Contact, on_delete=models.PROTECT, related_name="+", verbose_name=_("person"))
    sealed_identity = models.TextField(_("identity (sealed)"))
    reason = models.CharField(_("why kept"), max_length=300)

    objects = RetainedQuerySet.as_manager()

    class Meta:
        verbose_name = _("retained personal data")
        verbose_name_plural = _("retained personal data")
