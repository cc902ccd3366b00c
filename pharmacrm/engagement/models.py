"""Customer engagement (seed 000 三 客户拜访与沟通管理): visits with their call reports, quick contact logs and the
follow-up tasks problems become.

* ``Visit`` — planned (goal, time, people, content: seed 000 三.1), then carried out: check-in and check-out are
  one point each with the time (never a track: PIPL), and the report (channel, contacts met, products and key
  messages, needs, objections, competitors, agreements). Submitting locks it; the manager reviews and comments
  (反馈给上级); a later correction is a ``VisitAmendment`` with a reason.
* ``Communication`` — any other contact (phone, email, WeChat, face to face, meeting) logged in a few taps.
* ``FollowUp`` — a problem raised (seed 000 三.3 解决问题) with an owner and a due date, tracked until closed, and
  whether the customer has been told the plan.

Visits, contacts and follow-ups belong to the rep who made them (``org.querysets``): a rep sees their own, a
manager the team's, a regional manager the region's reps', head office all. Every write goes through
``engagement.services``.
"""

from __future__ import annotations

from typing import Any, Self

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from pharmacrm.core.models import BaseModel, StoredFile
from pharmacrm.core.querysets import ScopedQuerySet
from pharmacrm.core.workflow import StateMachine, Transition
from pharmacrm.customers.models import Contact, Institution
from pharmacrm.engagement.choices import (
    EDITABLE_PLAN_STATUSES,
    OPEN_VISIT_STATUSES,
    Channel,
    Direction,
    Occasion,
    PlanPeriod,
    PlanStatus,
    TaskStatus,
    VisitKind,
    VisitStatus,
)
from pharmacrm.org.querysets import HolderScopedQuerySet
from pharmacrm.sales.models import Product

#: the longest free text a report field takes (a page of notes, not a document)
MAX_NOTE = 4000


def _coordinate(name: str, limit: int) -> models.DecimalField:
    return models.DecimalField(name, max_digits=9, decimal_places=6, null=True, blank=True,
                               validators=[MinValueValidator(-limit), MaxValueValidator(limit)])


class VisitQuerySet(HolderScopedQuerySet):
    holder_fields = ("rep",)


class Visit(BaseModel):
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="visits",
                                    verbose_name=_("customer"))
    rep = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="visits",
                            verbose_name=_("rep"))
    kind = models.CharField(_("kind"), max_length=16, choices=VisitKind.choices, default=VisitKind.ROUTINE)
    # no index of its own: a few values over millions of rows, always read with the rep or the customer (SQLite
    # picked it over the customer index for the cadence's grouped reads, 40 ms instead of 2)
    status = models.CharField(_("status"), max_length=16, choices=VisitStatus.choices, default=VisitStatus.PLANNED)
    # the plan (seed 000 三.1: 拜访目的、时间、人员、内容)
    planned_for = models.DateTimeField(_("planned for"))
    goal = models.CharField(_("goal"), max_length=300)
    planned_contacts = models.ManyToManyField(Contact, blank=True, related_name="+", verbose_name=_("people to see"))
    content = models.TextField(_("content and materials"), max_length=MAX_NOTE, blank=True,
                               help_text=_("What to present and what to bring, one item per line."))
    reason = models.CharField(_("why this visit"), max_length=300, blank=True,
                              help_text=_("For a special visit: the event that called for it."))
    #: the event that raised a special visit ("grade:<run>", "licence:<id>:<date>", …): one visit per event
    trigger = models.CharField(_("raised by"), max_length=60, blank=True, editable=False)
    # check-in and check-out: one point and a time each, never a track
    checked_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True)
    check_in_latitude = _coordinate(_("check-in latitude"), 90)
    check_in_longitude = _coordinate(_("check-in longitude"), 180)
    check_in_accuracy_m = models.PositiveIntegerField(_("check-in accuracy (m)"), null=True, blank=True)
    check_in_photo = models.ForeignKey(StoredFile, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                       verbose_name=_("check-in photo"))
    checked_out_at = models.DateTimeField(_("checked out at"), null=True, blank=True)
    check_out_latitude = _coordinate(_("check-out latitude"), 90)
    check_out_longitude = _coordinate(_("check-out longitude"), 180)
    # the report (seed 000 三.2–三.3)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, blank=True)
    contacts_met = models.ManyToManyField(Contact, blank=True, related_name="visits", verbose_name=_("contacts met"))
    products = models.ManyToManyField(Product, blank=True, related_name="+", verbose_name=_("products discussed"))
    key_messages = models.TextField(_("key messages"), max_length=MAX_NOTE, blank=True)
    feedback = models.TextField(_("needs and feedback"), max_length=MAX_NOTE, blank=True)
    objections = models.TextField(_("objections"), max_length=MAX_NOTE, blank=True)
    competitors = models.TextField(_("competitor information"), max_length=MAX_NOTE, blank=True)
    agreements = models.TextField(_("agreements"), max_length=MAX_NOTE, blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    # the manager's review (反馈给上级)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("reviewed by"))
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    review_comment = models.TextField(_("manager's comment"), max_length=MAX_NOTE, blank=True)
    #: words of ``engagement.flag_words`` found in the report, for compliance to look at
    flagged_terms = models.JSONField(_("flagged words"), default=list, blank=True, editable=False)

    objects = VisitQuerySet.as_manager()

    workflow = StateMachine("status", [
        Transition(VisitStatus.PLANNED, VisitStatus.IN_PROGRESS),
        Transition(OPEN_VISIT_STATUSES, VisitStatus.SUBMITTED),
        Transition(VisitStatus.PLANNED, VisitStatus.CANCELLED, reason_required=True),
        Transition(VisitStatus.SUBMITTED, VisitStatus.REVIEWED, permission="engagement.review_visit"),
    ])

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["-planned_for", "-id"]
        permissions = [("review_visit", _("Can review call reports"))]
        constraints = [models.UniqueConstraint(fields=["institution", "trigger"], condition=~models.Q(trigger=""),
                                               name="visit_one_per_event")]
        indexes = [
            models.Index(fields=["rep", "planned_for"], name="visit_rep_planned_idx"),
            models.Index(fields=["institution", "planned_for"], name="visit_customer_planned_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.institution} · {self.planned_for:%Y-%m-%d}"

    def get_absolute_url(self) -> str:
        return reverse("engagement:visit_detail", args=[self.pk])

    @property
    def locked(self) -> bool:
        return self.status in (VisitStatus.SUBMITTED, VisitStatus.REVIEWED, VisitStatus.CANCELLED)

    @property
    def checklist(self) -> list[str]:
        return [line.strip() for line in self.content.splitlines() if line.strip()]


class VisitAmendmentQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        """Seen with the visit they amend."""
        return self.filter(visit__in=Visit.objects.visible_to(user).values("pk"))


class VisitAmendment(BaseModel):
    """A correction of a submitted report: which field, from what to what, why, by whom."""

    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="amendments", verbose_name=_("visit"))
    field = models.CharField(_("field"), max_length=40)
    old = models.TextField(_("before"), blank=True)
    new = models.TextField(_("after"), blank=True)
    reason = models.CharField(_("reason"), max_length=500)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                           verbose_name=_("by"))

    objects = VisitAmendmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("visit amendment")
        verbose_name_plural = _("visit amendments")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.visit_id} · {self.field}"


class CommunicationQuerySet(HolderScopedQuerySet):
    holder_fields = ("by",)


class Communication(BaseModel):
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="communications",
                                    verbose_name=_("customer"))
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="communications", verbose_name=_("contact"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="communications",
                           verbose_name=_("by"))
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    direction = models.CharField(_("direction"), max_length=16, choices=Direction.choices,
                                 default=Direction.OUTBOUND)
    occurred_at = models.DateTimeField(_("when"))
    summary = models.TextField(_("summary"), max_length=MAX_NOTE)
    flagged_terms = models.JSONField(_("flagged words"), default=list, blank=True, editable=False)

    objects = CommunicationQuerySet.as_manager()

    class Meta:
        verbose_name = _("communication")
        verbose_name_plural = _("communications")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["institution", "occurred_at"], name="communication_customer_idx"),
            models.Index(fields=["by", "occurred_at"], name="communication_by_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.institution} · {self.get_channel_display()} · {self.occurred_at:%Y-%m-%d}"

    def get_absolute_url(self) -> str:
        return reverse("engagement:communication_detail", args=[self.pk])


class FollowUpQuerySet(HolderScopedQuerySet):
    holder_fields = ("owner", "created_by")

    def open(self) -> Any:
        return self.filter(status=TaskStatus.OPEN)


class FollowUp(BaseModel):
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="follow_ups",
                                    verbose_name=_("customer"))
    visit = models.ForeignKey(Visit, null=True, blank=True, on_delete=models.PROTECT, related_name="follow_ups",
                              verbose_name=_("raised at visit"))
    title = models.CharField(_("problem"), max_length=300)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="follow_ups",
                              verbose_name=_("owner"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("raised by"))
    due_on = models.DateField(_("due"))
    status = models.CharField(_("status"), max_length=16, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    customer_informed = models.BooleanField(_("customer told the plan"), default=False)
    outcome = models.TextField(_("outcome"), max_length=MAX_NOTE, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    objects = FollowUpQuerySet.as_manager()

    workflow = StateMachine("status", [
        Transition(TaskStatus.OPEN, TaskStatus.DONE),
        Transition(TaskStatus.OPEN, TaskStatus.CANCELLED, reason_required=True),
    ])

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["due_on", "id"]
        indexes = [
            models.Index(fields=["owner", "status", "due_on"], name="followup_owner_open_idx"),
            models.Index(fields=["institution", "status"], name="followup_customer_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("engagement:followup_detail", args=[self.pk])


class CalendarFeedQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        """A feed is its owner's own: nobody else sees even that it exists."""
        return self.filter(user=user) if getattr(user, "is_authenticated", False) else self.none()


class CalendarFeed(BaseModel):
    """A rep's iCalendar subscription: calendar apps cannot sign in, so the address carries a secret. Only its
    SHA-256 is kept; a new address replaces the old one, which stops working."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
                                verbose_name=_("user"))
    token_hash = models.CharField(_("address digest"), max_length=64, unique=True, editable=False)

    objects = CalendarFeedQuerySet.as_manager()

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")

    def __str__(self) -> str:
        return f"{self.user} · {self.token_hash[:8]}"


class GreetingTemplateQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        """Templates are company-wide: whoever may see greetings sees them."""
        return self if getattr(user, "is_authenticated", False) and user.has_perm(
            "engagement.view_greetingtemplate") else self.none()

    def approved(self) -> Self:
        return self.filter(approved_at__isnull=False)


class GreetingTemplate(BaseModel):
    """A greeting text marketing writes and compliance approves (a message, never a gift); ``{name}`` is replaced
    by the contact's name. Changing the text takes the approval away."""

    occasion = models.CharField(_("occasion"), max_length=16, choices=Occasion.choices, default=Occasion.ANY)
    title = models.CharField(_("title"), max_length=100)
    text = models.TextField(_("text"), max_length=500)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", editable=False, verbose_name=_("approved by"))
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True, editable=False)

    objects = GreetingTemplateQuerySet.as_manager()

    class Meta:
        verbose_name = _("greeting template")
        verbose_name_plural = _("greeting templates")
        ordering = ["occasion", "title", "id"]
        permissions = [("approve_greetingtemplate", _("Can approve greeting templates"))]

    def __str__(self) -> str:
        return self.title


class GreetingQuerySet(HolderScopedQuerySet):
    holder_fields = ("by",)


class Greeting(BaseModel):
    """A greeting sent to a contact through an approved template, on a channel they consented to."""

    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="greetings", verbose_name=_("contact"))
    template = models.ForeignKey(GreetingTemplate, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("template"))
    channel = models.CharField(_("channel"), max_length=16)
    text = models.TextField(_("text"))
    sent_at = models.DateTimeField(_("sent at"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by"))

    objects = GreetingQuerySet.as_manager()

    class Meta:
        verbose_name = _("greeting")
        verbose_name_plural = _("greetings")
        ordering = ["-sent_at", "-id"]
        indexes = [models.Index(fields=["contact", "sent_at"], name="greeting_contact_idx")]

    def __str__(self) -> str:
        return f"{self.contact} · {self.sent_at:%Y-%m-%d}"


class VisitPlanQuerySet(HolderScopedQuerySet):
    holder_fields = ("rep",)


class VisitPlan(BaseModel):
    """A rep's annual, quarterly or monthly visit plan (seed 000 三.1): drafted from the cadence rules of each
    customer's classes, edited by the rep, approved by the manager. Approving a monthly plan puts its visits on the
    rep's calendar."""

    rep = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="visit_plans",
                            verbose_name=_("rep"))
    period = models.CharField(_("period"), max_length=16, choices=PlanPeriod.choices)
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("to"))
    status = models.CharField(_("status"), max_length=16, choices=PlanStatus.choices, default=PlanStatus.DRAFT)
    note = models.TextField(_("rep's note"), max_length=MAX_NOTE, blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True, editable=False)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("decided by"), editable=False)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True, editable=False)
    decision_comment = models.TextField(_("manager's comment"), max_length=MAX_NOTE, blank=True, editable=False)

    objects = VisitPlanQuerySet.as_manager()

    workflow = StateMachine("status", [
        Transition(EDITABLE_PLAN_STATUSES, PlanStatus.SUBMITTED),
        Transition(PlanStatus.SUBMITTED, PlanStatus.APPROVED, permission="engagement.approve_visitplan"),
        Transition(PlanStatus.SUBMITTED, PlanStatus.RETURNED, permission="engagement.approve_visitplan",
                   reason_required=True),
    ])

    class Meta:
        verbose_name = _("visit plan")
        verbose_name_plural = _("visit plans")
        ordering = ["-starts_on", "period", "-id"]
        permissions = [("approve_visitplan", _("Can approve visit plans"))]
        constraints = [models.UniqueConstraint(fields=["rep", "period", "starts_on"], name="visit_plan_one_per_period"),
                       models.CheckConstraint(condition=models.Q(ends_on__gte=models.F("starts_on")),
                                              name="visit_plan_ends_after_start")]

    def __str__(self) -> str:
        return f"{self.get_period_display()} {self.starts_on:%Y-%m-%d}–{self.ends_on:%Y-%m-%d} · {self.rep}"

    def get_absolute_url(self) -> str:
        return reverse("engagement:plan_detail", args=[self.pk])

    @property
    def editable(self) -> bool:
        return self.status in EDITABLE_PLAN_STATUSES


class VisitPlanLineQuerySet(HolderScopedQuerySet):
    holder_fields = ("plan__rep",)


class VisitPlanLine(BaseModel):
    """One customer of a plan: the visits and contacts its classes call for in the period, and the visits the rep
    plans (fewer than the rule needs a reason)."""

    plan = models.ForeignKey(VisitPlan, on_delete=models.CASCADE, related_name="lines", verbose_name=_("plan"))
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("customer"))
    rule = models.CharField(_("what the rules call for"), max_length=300, blank=True, editable=False)
    rule_visits = models.PositiveIntegerField(_("visits the rules call for"), null=True, blank=True, editable=False)
    rule_contacts = models.PositiveIntegerField(_("contacts the rules call for"), null=True, blank=True,
                                                editable=False)
    visits = models.PositiveIntegerField(_("planned visits"), default=0)
    note = models.CharField(_("note"), max_length=300, blank=True,
                            help_text=_("Why fewer visits than the rules call for, or what the visits are for."))

    objects = VisitPlanLineQuerySet.as_manager()

    class Meta:
        verbose_name = _("visit plan line")
        verbose_name_plural = _("visit plan lines")
        ordering = ["plan_id", "id"]
        constraints = [models.UniqueConstraint(fields=["plan", "institution"], name="visit_plan_line_unique")]

    def __str__(self) -> str:
        return f"{self.plan} · {self.institution}"

    @property
    def below_rule(self) -> bool:
        return self.rule_visits is not None and self.visits < self.rule_visits


class CadenceStatusQuerySet(ScopedQuerySet):
    """Visible with the customer, to roles that read visits."""

    scoped = True

    def visible_to(self, user: Any) -> Self:
        from pharmacrm.customers.models import visible_institution_ids

        if not getattr(user, "is_authenticated", False) or not user.has_perm("engagement.view_visit"):
            return self.none()
        ids = visible_institution_ids(user)
        return self if ids is None else self.filter(institution_id__in=ids)


class CadenceStatus(models.Model):
    """Each live customer's contact cadence as of the last nightly computation (``cadence.compute_all``): the
    strictest rule of its classes, its last visit, this month's contacts, overdue and short — for head office and
    regional views over every customer. Reps' and teams' pages compute theirs live (``cadence.rows_for``).

    Derived data rewritten whole every night, like the grading classes: no key constraints (see
    ``grading.Classification``); a customer deleted since is left out of the next run."""

    institution = models.OneToOneField(Institution, on_delete=models.CASCADE, primary_key=True, related_name="+",
                                       db_constraint=False, verbose_name=_("customer"))
    as_of = models.DateField(_("as of"))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.DO_NOTHING, related_name="+",
                              db_constraint=False, verbose_name=_("owner"))
    province_code = models.CharField(_("province"), max_length=6)
    every_days = models.PositiveIntegerField(_("visit every (days)"), null=True)
    contacts_per_month = models.PositiveSmallIntegerField(_("contacts a month, at least"), null=True)
    last_visit_at = models.DateTimeField(_("last visit"), null=True)
    contacts = models.PositiveIntegerField(_("contacts this month"))
    overdue = models.BooleanField(_("overdue"))
    short_by = models.PositiveIntegerField(_("contacts short"))

    objects = CadenceStatusQuerySet.as_manager()

    class Meta:
        verbose_name = _("cadence status")
        verbose_name_plural = _("cadence statuses")
        indexes = [models.Index(fields=["owner"], name="cadence_owner_idx"),
                   models.Index(fields=["province_code"], name="cadence_province_idx")]

    def __str__(self) -> str:
        return f"{self.institution_id} · {self.as_of}"
