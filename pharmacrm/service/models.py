"""The service desk (seed 000 四 售前、售中、售后; seed 002 六.(二) 24小时响应; seed 003 四.3 投诉处理).

* ``Case`` — one customer request of any kind (consultation, clinical inquiry, quality feedback, return, medication
  guidance, complaint) with an owner and a lifecycle: received → acknowledged → investigating → solution proposed
  → resolved → confirmed by the customer → follow-up visit done → closed, reopened with a reason. Complaints and
  quality cases need a root cause and a corrective action to close. A case is a GxP record: never deleted — a
  case logged in error is voided (with a reason, kept), and ``retention_until`` says how long it must be kept
  (21 CFR 211.198(b), ``service.retention``).
* ``CaseNote`` — an internal note or a reply to the customer.
* ``SlaClock`` — one engine for every deadline (``service.clocks``): first response in hours, contact and
  resolution in China's working days, the pharmacovigilance report in calendar days; paused while waiting on the
  customer, breached and escalated by the check job.
* ``AssignmentRule`` — who gets a new case, by kind, product and province.

Cases are seen with their customer (a rep sees their customers' cases), by the people working them, and by the
service, medical and pharmacovigilance roles (all). Every write goes through ``service.services``.
"""

from __future__ import annotations

from typing import Any, Self

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from pharmacrm.core.models import BaseModel
from pharmacrm.core.querysets import ScopedQuerySet, UnauditedBulkWrite
from pharmacrm.core.workflow import StateMachine, Transition
from pharmacrm.customers.models import Contact, Institution, visible_institution_ids
from pharmacrm.sales.models import Order, Product
from pharmacrm.service.choices import (
    OPEN_CASE_STATUSES,
    VOIDABLE_STATUSES,
    CaseChannel,
    CaseKind,
    CaseStatus,
    ClockBasis,
    ClockKind,
    PvKind,
    PvSeriousness,
    ReturnKind,
    RootCause,
    Severity,
)

MAX_TEXT = 8000
#: up to this many customers in the user's scope are read into the case condition as values
MAX_LISTED_CUSTOMERS = 20_000


def case_condition(user: Any, prefix: str = "") -> Q | None:
    """Which cases the user sees, as a condition on ``<prefix>`` fields (None: all; ``Q(pk__in=[])``: none) —
    with the customer (a rep: their customers' cases; a manager: the team's…), plus the cases owned by the people
    in the user's scope (a rep: their own; a manager: the team's workload) and those the user opened. Clocks and
    notes apply it through their case's columns, never through a list of case ids (head office's breach list
    would otherwise read every case)."""
    from pharmacrm.org.querysets import users_in_scope

    if not getattr(user, "is_authenticated", False) or not user.has_perm("service.view_case"):
        return Q(pk__in=[])
    ids = visible_institution_ids(user)
    if ids is None:
        return None
    # a rep's or a team's customers are a few thousand at most: as a list of values PostgreSQL starts from their
    # cases (three index scans) instead of walking every late clock in due order and testing each (450 ms at 2M)
    customers = list(ids.values_list("pk", flat=True)[:MAX_LISTED_CUSTOMERS + 1])
    if len(customers) > MAX_LISTED_CUSTOMERS:  # a region: let the database join
        customers = ids
    owners = list(users_in_scope(user).values_list("pk", flat=True)[:MAX_LISTED_CUSTOMERS])
    return (Q(**{f"{prefix}institution_id__in": customers}) | Q(**{f"{prefix}owner_id__in": owners})
            | Q(**{f"{prefix}created_by_id": user.pk}))


class CaseQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        condition = case_condition(user)
        return self if condition is None else self.filter(condition)

    def open(self) -> Self:
        return self.filter(status__in=OPEN_CASE_STATUSES)

    def delete(self) -> tuple[int, dict[str, int]]:
        raise UnauditedBulkWrite("cases are GxP records: they are voided (service.services.void_case), never deleted")


class Case(BaseModel):
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="cases",
                                    verbose_name=_("customer"))
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.PROTECT, related_name="cases",
                                verbose_name=_("contact"))
    kind = models.CharField(_("kind"), max_length=16, choices=CaseKind.choices)
    channel = models.CharField(_("channel"), max_length=16, choices=CaseChannel.choices, default=CaseChannel.HOTLINE)
    severity = models.CharField(_("severity"), max_length=16, choices=Severity.choices, default=Severity.MEDIUM)
    title = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), max_length=MAX_TEXT)
    # what it is about: product and batch (quality), the order (returns)
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("product"))
    batch_number = models.CharField(_("batch number"), max_length=40, blank=True)
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.PROTECT, related_name="cases",
                              verbose_name=_("order"))
    return_kind = models.CharField(_("return, exchange or compensation"), max_length=16, choices=ReturnKind.choices,
                                   blank=True)
    visit = models.ForeignKey("engagement.Visit", null=True, blank=True, on_delete=models.PROTECT,
                              related_name="cases", verbose_name=_("raised at visit"))
    # who and where it stands
    status = models.CharField(_("status"), max_length=16, choices=CaseStatus.choices, default=CaseStatus.RECEIVED)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="cases",
                              verbose_name=_("owner"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("logged by"))
    received_at = models.DateTimeField(_("received at"))
    acknowledged_at = models.DateTimeField(_("first response at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    solution = models.TextField(_("solution"), max_length=MAX_TEXT, blank=True)
    root_cause = models.CharField(_("root cause"), max_length=20, choices=RootCause.choices, blank=True)
    corrective_action = models.TextField(_("corrective action"), max_length=MAX_TEXT, blank=True)
    follow_up_visit = models.ForeignKey("engagement.Visit", null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+", verbose_name=_("follow-up visit"))
    waiting_on_customer = models.BooleanField(_("waiting on the customer"), default=False)
    # pharmacovigilance (DESIGN.md ground rules): a flag starts a reporting clock from the awareness date
    pv_kind = models.CharField(_("pharmacovigilance flag"), max_length=8, choices=PvKind.choices, blank=True)
    pv_seriousness = models.CharField(_("seriousness"), max_length=8, choices=PvSeriousness.choices, blank=True)
    pv_aware_on = models.DateField(_("aware since"), null=True, blank=True)
    pv_reported_at = models.DateTimeField(_("reported to pharmacovigilance at"), null=True, blank=True)
    pv_reference = models.CharField(_("PV report reference"), max_length=60, blank=True)
    #: the highest escalation any of its clocks reached: 0 owner, 1 manager, 2 leadership
    escalation = models.PositiveSmallIntegerField(_("escalation"), default=0)
    # voiding (a case logged in error: the "delete" of a GxP record) and retention
    voided_at = models.DateTimeField(_("voided at"), null=True, blank=True)
    void_reason = models.TextField(_("reason for voiding"), max_length=500, blank=True)
    retention_until = models.DateField(
        _("keep until"), null=True, blank=True,
        help_text=_("One year after the batch's expiry or after receipt, whichever is later (21 CFR 211.198)."))

    objects = CaseQuerySet.as_manager()
    #: outside the signed content (core.signatures): the clocks' escalation and the waiting flag are bookkeeping
    signature_exclude = ("escalation", "waiting_on_customer")

    #: recomputed from the audited received time, product and batch by clean() (service.retention)
    derived_fields = ("retention_until",)

    workflow = StateMachine("status", [
        Transition(CaseStatus.RECEIVED, CaseStatus.ACKNOWLEDGED),
        Transition((CaseStatus.ACKNOWLEDGED, CaseStatus.PROPOSED), CaseStatus.INVESTIGATING),
        Transition((CaseStatus.ACKNOWLEDGED, CaseStatus.INVESTIGATING), CaseStatus.PROPOSED),
        Transition((CaseStatus.ACKNOWLEDGED, CaseStatus.INVESTIGATING, CaseStatus.PROPOSED), CaseStatus.RESOLVED),
        Transition(CaseStatus.RESOLVED, CaseStatus.CONFIRMED),
        Transition(CaseStatus.CONFIRMED, CaseStatus.FOLLOWED_UP),
        Transition((CaseStatus.CONFIRMED, CaseStatus.FOLLOWED_UP), CaseStatus.CLOSED),
        Transition((CaseStatus.RESOLVED, CaseStatus.CONFIRMED, CaseStatus.FOLLOWED_UP, CaseStatus.CLOSED),
                   CaseStatus.INVESTIGATING, reason_required=True),
        Transition(VOIDABLE_STATUSES, CaseStatus.VOIDED, permission="service.void_case", reason_required=True),
    ])

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-received_at", "-id"]
        permissions = [("work_case", _("Can work service cases")),
                       ("report_pv", _("Can record pharmacovigilance reports")),
                       ("void_case", _("Can void service cases")),
                       ("archive_case", _("Can export and import case archives"))]
        indexes = [
            models.Index(fields=["owner", "status"], name="case_owner_status_idx"),
            models.Index(fields=["institution", "-received_at"], name="case_customer_idx"),
            models.Index(fields=["kind", "received_at"], name="case_kind_received_idx"),
            models.Index(fields=["product", "batch_number"], name="case_product_batch_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def number(self) -> str:
        return f"CS{self.pk:08d}" if self.pk else "CS—"

    @property
    def reference(self) -> str:
        """Number and kind: how messages and copies name the case — never its free text, which may name a person
        (a stored notification, an e-mail or a planned visit would keep the name after the person's deletion)."""
        return f"{self.number} {self.get_kind_display()}"

    def get_absolute_url(self) -> str:
        return reverse("service:case_detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_CASE_STATUSES

    def clean(self) -> None:
        from pharmacrm.service.retention import retention_until

        super().clean()
        if self.received_at is not None:
            self.retention_until = retention_until(self)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise UnauditedBulkWrite("cases are GxP records: they are voided (service.services.void_case), never deleted")


class CaseNoteQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        condition = case_condition(user, "case__")
        return self if condition is None else self.filter(condition)


class CaseNote(BaseModel):
    """A note on a case: internal (the team's working notes) or a reply the customer was given."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="notes", verbose_name=_("case"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by"))
    internal = models.BooleanField(_("internal note"), default=True,
                                   help_text=_("Internal notes are for the team; the others are what the customer "
                                               "was told."))
    body = models.TextField(_("note"), max_length=MAX_TEXT)

    objects = CaseNoteQuerySet.as_manager()

    class Meta:
        verbose_name = _("case note")
        verbose_name_plural = _("case notes")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.case.number} · {self.created_at:%Y-%m-%d %H:%M}"


class SlaClockQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        condition = case_condition(user, "case__")
        return self if condition is None else self.filter(condition)

    def running(self) -> Self:
        return self.filter(stopped_at__isnull=True)


class SlaClock(BaseModel):
    """A deadline on a case (``service.clocks``): from ``started_at``, ``target`` hours, working days or days; the
    time paused waiting on the customer moves the due time on; stopped when met; breached and escalated when
    not."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="clocks", verbose_name=_("case"))
    kind = models.CharField(_("clock"), max_length=16, choices=ClockKind.choices)
    basis = models.CharField(_("counted in"), max_length=16, choices=ClockBasis.choices)
    target = models.PositiveIntegerField(_("target"))
    started_at = models.DateTimeField(_("started at"))
    due_at = models.DateTimeField(_("due at"))
    paused_at = models.DateTimeField(_("paused at"), null=True, blank=True)
    stopped_at = models.DateTimeField(_("met at"), null=True, blank=True)
    warned_at = models.DateTimeField(_("near-breach warning at"), null=True, blank=True)
    breached_at = models.DateTimeField(_("breached at"), null=True, blank=True)
    #: 0 the owner only, 1 the owner's manager told, 2 leadership told
    escalation = models.PositiveSmallIntegerField(_("escalation"), default=0)
    #: the case's owner, copied so a team's queue and breach list read one table
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("owner"))

    objects = SlaClockQuerySet.as_manager()

    class Meta:
        verbose_name = _("SLA clock")
        verbose_name_plural = _("SLA clocks")
        ordering = ["due_at", "id"]
        constraints = [models.UniqueConstraint(fields=["case", "kind"], name="sla_clock_one_per_kind")]
        # (due_at, id): the lists' order, so a page of the soonest deadlines stops after its rows even where many
        # clocks fall due at the same moment (end of a working day)
        indexes = [
            models.Index(fields=["due_at", "id"], condition=Q(stopped_at__isnull=True), name="sla_clock_running_idx"),
            models.Index(fields=["owner", "due_at", "id"], condition=Q(stopped_at__isnull=True),
                         name="sla_clock_owner_running_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.case.number} · {self.get_kind_display()}"

    @property
    def running(self) -> bool:
        return self.stopped_at is None


class AssignmentRuleQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        return self if getattr(user, "is_authenticated", False) and user.has_perm(
            "service.view_assignmentrule") else self.none()


class AssignmentRule(BaseModel):
    """Who gets a new case: the first active rule (by ``priority``) whose kind, product and province match (an
    empty one matches all); no rule: the customer's rep for sales questions, else the one who logged it."""

    priority = models.PositiveIntegerField(_("priority"), default=100, help_text=_("Lower runs first."))
    kind = models.CharField(_("kind"), max_length=16, choices=CaseKind.choices, blank=True)
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("product"))
    province_code = models.CharField(_("province"), max_length=6, blank=True)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("assign to"))
    active = models.BooleanField(_("active"), default=True)

    objects = AssignmentRuleQuerySet.as_manager()

    class Meta:
        verbose_name = _("assignment rule")
        verbose_name_plural = _("assignment rules")
        ordering = ["priority", "id"]

    def __str__(self) -> str:
        return f"{self.priority}: {self.get_kind_display() or '*'} → {self.assignee}"


class CaseArchiveQuerySet(ScopedQuerySet):
    """Archives are read by those who may archive cases (quality assurance); they are never changed."""

    scoped = True

    def visible_to(self, user: Any) -> Self:
        return self if getattr(user, "is_authenticated", False) and user.has_perm(
            "service.archive_case") else self.none()

    def update(self, **kwargs: Any) -> int:
        raise UnauditedBulkWrite("case archives are read-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise UnauditedBulkWrite("case archives are read-only")


class CaseArchive(models.Model):
    """A case archive imported from another instance (``manage.py import_archive``), kept read-only as it came.

    The record, its notes and clocks, its audit entries (with their original hashes) and its signature manifests
    stay one JSON document: an archive must load into an empty instance, without the users, customers and products
    it names, and without splicing foreign entries into this instance's own audit chain. ``service.archive``
    checks each entry's hash and the document's before it is accepted."""

    case_number = models.CharField(_("case"), max_length=20, db_index=True)
    source_case_id = models.BigIntegerField(_("case id at the source"))
    document = models.JSONField(_("archive"))
    document_hash = models.CharField(_("archive hash"), max_length=64, unique=True)
    imported_at = models.DateTimeField(_("imported at"))
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING,
                                    db_constraint=False, related_name="+", verbose_name=_("imported by"))

    objects = CaseArchiveQuerySet.as_manager()

    class Meta:
        verbose_name = _("case archive")
        verbose_name_plural = _("case archives")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.case_number} ({self.document_hash[:12]})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise UnauditedBulkWrite("case archives are read-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise UnauditedBulkWrite("case archives are read-only")
