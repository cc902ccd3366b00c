"""Content pushes (seed 002 四.(二): 每周推送1篇前沿学术文献（附简洁解读）、每月分享1次政策影响分析; seed 002 一.(二):
潜力客户每两个月推送1次行业趋势).

* ``ContentItem`` — a paper with a short interpretation, a policy analysis or an industry trend, written by marketing.
  It is promotional or medical material: compliance approves it before any push, and changing what a customer would
  read takes the approval away (as for greeting templates).
* ``ContentSchedule`` — which customers (a class of one grading dimension, or a customer type) get which kind of
  item how often, on which channel: the seed's cadences as data.
* ``ContentPush`` — an approved item sent to a segment on a channel, with how many contacts it reached and why the
  others were skipped. Audited like any record.
* ``ContentDelivery`` — one row per contact reached. Written in bulk by the push (one ``INSERT … SELECT``; a
  segment can be 200k contacts), so not audited row by row: the push is the record, as a grading run is for the
  classes. A contact never receives the same item twice.

Items, schedules and pushes are company-wide (head office reads them all; field roles see approved items only);
deliveries are seen with the customer they went to (``visible_institution_ids``).
"""

from __future__ import annotations

from typing import Any, Self

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from pharmacrm.content.choices import PUSH_CHANNELS, ContentKind
from pharmacrm.core.models import BaseModel, StoredFile
from pharmacrm.core.querysets import ScopedQuerySet
from pharmacrm.customers.models import Contact, Institution, visible_institution_ids
from pharmacrm.grading.choices import StrategyDimension, class_label

#: the longest text an item's body takes (an article, not a book)
MAX_BODY = 20000
#: a short interpretation is a paragraph
MAX_INTERPRETATION = 1000


def _may(user: Any, permission: str) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.has_perm(permission))


class ContentItemQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        """Head office (who writes, approves or oversees pushes) sees every item; field roles the approved ones."""
        if not _may(user, "content.view_contentitem"):
            return self.none()
        if any(_may(user, permission) for permission in ("content.change_contentitem", "content.approve_contentitem",
                                                          "content.view_contentpush")):
            return self
        return self.approved()

    def approved(self) -> Self:
        return self.filter(approved_at__isnull=False)


class ContentItem(BaseModel):
    """A piece of content marketing writes and compliance approves before it is pushed."""

    kind = models.CharField(_("kind"), max_length=16, choices=ContentKind.choices)
    title = models.CharField(_("title"), max_length=200)
    source = models.CharField(_("source or citation"), max_length=300, blank=True,
                              help_text=_("Journal, authors, year; the policy document and its number."))
    source_url = models.URLField(_("source link"), max_length=500, blank=True)
    interpretation = models.TextField(_("short interpretation"), max_length=MAX_INTERPRETATION)
    body = models.TextField(_("text"), max_length=MAX_BODY, blank=True)
    attachment = models.ForeignKey(StoredFile, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("attachment"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("written by"))
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", editable=False, verbose_name=_("approved by"))
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True, editable=False)

    objects = ContentItemQuerySet.as_manager()
    protected_fields = (*BaseModel.protected_fields, "approved_by", "approved_at", "created_by")

    class Meta:
        verbose_name = _("content item")
        verbose_name_plural = _("content items")
        ordering = ["-id"]
        permissions = [("approve_contentitem", _("Can approve content items"))]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("content:item_detail", args=[self.pk])

    @property
    def approved(self) -> bool:
        return self.approved_at is not None


class CompanyWideQuerySet(ScopedQuerySet):
    """Schedules and pushes are head office's: whoever holds the model's view permission sees them all."""

    scoped = True

    def visible_to(self, user: Any) -> Self:
        meta = self.model._meta
        return self if _may(user, f"{meta.app_label}.view_{meta.model_name}") else self.none()


class Segment(models.Model):
    """A class of one dimension: the customers of ``klass`` on ``dimension`` (e.g. depth = core)."""

    dimension = models.CharField(_("dimension"), max_length=16, choices=StrategyDimension.choices)
    klass = models.CharField(_("class"), max_length=32)

    class Meta:
        abstract = True

    @property
    def segment_label(self) -> str:
        return f"{self.get_dimension_display()}: {class_label(self.dimension, self.klass)}"


class ContentSchedule(Segment, BaseModel):
    """Which customers get which kind of item how often (seed 002: core customers a paper weekly and a policy
    analysis monthly; potential customers a trend every two months)."""

    kind = models.CharField(_("kind of item"), max_length=16, choices=ContentKind.choices)
    every_days = models.PositiveIntegerField(_("every (days)"),
                                             validators=[MinValueValidator(1), MaxValueValidator(366)])
    channel = models.CharField(_("channel"), max_length=16, choices=PUSH_CHANNELS)
    active = models.BooleanField(_("active"), default=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    objects = CompanyWideQuerySet.as_manager()

    class Meta:
        verbose_name = _("content schedule")
        verbose_name_plural = _("content schedules")
        ordering = ["dimension", "klass", "every_days", "id"]
        constraints = [models.UniqueConstraint(fields=["dimension", "klass", "kind"], name="content_schedule_unique")]

    def __str__(self) -> str:
        return f"{self.segment_label} · {self.get_kind_display()}"


class ContentPush(Segment, BaseModel):
    """An approved item sent to a segment on a channel; the counts say who got it and why the others did not."""

    item = models.ForeignKey(ContentItem, on_delete=models.PROTECT, related_name="pushes", verbose_name=_("item"))
    schedule = models.ForeignKey(ContentSchedule, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="pushes", verbose_name=_("schedule"))
    channel = models.CharField(_("channel"), max_length=16, choices=PUSH_CHANNELS)
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("sent by"))
    sent_at = models.DateTimeField(_("sent at"))
    in_segment = models.PositiveIntegerField(_("contacts in the segment"), default=0)
    delivered = models.PositiveIntegerField(_("delivered"), default=0)
    skipped_already = models.PositiveIntegerField(_("skipped: already received"), default=0)
    skipped_withdrawn = models.PositiveIntegerField(_("skipped: consent withdrawn"), default=0)
    skipped_no_consent = models.PositiveIntegerField(_("skipped: no consent"), default=0)

    objects = CompanyWideQuerySet.as_manager()

    class Meta:
        verbose_name = _("content push")
        verbose_name_plural = _("content pushes")
        ordering = ["-sent_at", "-id"]
        indexes = [models.Index(fields=["dimension", "klass", "sent_at"], name="content_push_segment_idx")]

    def __str__(self) -> str:
        return f"{self.item} → {self.segment_label}"

    def get_absolute_url(self) -> str:
        return reverse("content:push_detail", args=[self.pk])

    @property
    def skipped(self) -> int:
        return self.in_segment - self.delivered


class ContentDeliveryQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        """Seen with the customer it went to."""
        if not _may(user, "content.view_contentdelivery"):
            return self.none()
        ids = visible_institution_ids(user)
        return self if ids is None else self.filter(institution_id__in=ids)


class ContentDelivery(models.Model):
    """One contact reached by one push (bulk-written by ``services.send_push``; the push is the audited record)."""

    push = models.ForeignKey(ContentPush, on_delete=models.PROTECT, related_name="deliveries", db_index=False,
                             verbose_name=_("push"))
    # the item again, so "never the same item twice" is one unique key
    item = models.ForeignKey(ContentItem, on_delete=models.PROTECT, related_name="+", db_index=False,
                             verbose_name=_("item"))
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="+", db_index=False,
                                verbose_name=_("contact"))
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+", db_index=False,
                                    verbose_name=_("customer"))
    channel = models.CharField(_("channel"), max_length=16, choices=PUSH_CHANNELS)
    delivered_at = models.DateTimeField(_("delivered at"))

    objects = ContentDeliveryQuerySet.as_manager()

    class Meta:
        verbose_name = _("content delivery")
        verbose_name_plural = _("content deliveries")
        ordering = ["-delivered_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["item", "contact"], name="content_delivery_once")]
        indexes = [
            models.Index(fields=["push", "id"], name="content_delivery_push_idx"),
            models.Index(fields=["institution", "delivered_at"], name="content_delivery_customer_idx"),
            models.Index(fields=["contact", "delivered_at"], name="content_delivery_contact_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id} → {self.contact_id}"
