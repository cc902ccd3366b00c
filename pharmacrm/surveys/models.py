"""Satisfaction surveys (seed 000 四.3 客户满意度调查: 问卷调查、在线调查, 分析总结, 改进措施; seed 003 四.4 每年定期开展;
seed 003 四.3 跟踪投诉处理结果直至客户满意).

* ``QuestionSet`` — the questions a survey asks, as a list of typed questions (JSON): a satisfaction score 1–5
  (CSAT), a likelihood to recommend 0–10 (NPS), free text. Company-wide.
* ``SurveyCampaign`` — a question set sent to a segment (all customers, key accounts, a class of a grading
  dimension) on one channel between two dates (seed 003: yearly for all; quarterly for key accounts).
* ``SurveyInvitation`` — one contact asked once, by a campaign or after a closed case, through a one-time link.
  Only the SHA-256 of the link's 256-bit secret is stored (as the calendar feed does): the link is shown once.
  A closed case whose contact cannot be asked (no contact, no consent to surveys) leaves an invitation without a
  link that says why.
* ``SurveyResponse`` — the answer, with its scores copied out for aggregates, and the follow-up case a low score
  opened.

Invitations and responses are seen with their customer (``visible_institution_ids``); question sets and campaigns
by whoever holds their view permission. Every write goes through ``surveys.services``.
"""

from __future__ import annotations

from typing import Any, Self

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pharmacrm.core.models import BaseModel
from pharmacrm.core.querysets import ScopedQuerySet
from pharmacrm.customers.models import Contact, Institution, visible_institution_ids
from pharmacrm.grading.choices import class_label
from pharmacrm.service.models import Case
from pharmacrm.surveys.choices import Audience, CampaignStatus, QuestionKind, SkipReason, SurveyChannel

#: the longest free-text answer (a paragraph or two, not a document)
MAX_ANSWER = 2000


def _may(user: Any, permission: str) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.has_perm(permission))


class CompanyWideQuerySet(ScopedQuerySet):
    """Question sets and campaigns are head office's: whoever holds the model's view permission sees them all."""

    scoped = True

    def visible_to(self, user: Any) -> Self:
        meta = self.model._meta
        return self if _may(user, f"{meta.app_label}.view_{meta.model_name}") else self.none()


class QuestionSet(BaseModel):
    """The questions of a survey: ``[{"key": "csat", "kind": "csat", "text": "…"}, …]`` in the order asked."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    questions = models.JSONField(_("questions"), default=list)
    active = models.BooleanField(_("active"), default=True)
    #: the one set a closed case's survey asks
    for_cases = models.BooleanField(_("asked after closed cases"), default=False)
    #: empty for the built-in set the system made
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("created by"))

    objects = CompanyWideQuerySet.as_manager()

    class Meta:
        verbose_name = _("question set")
        verbose_name_plural = _("question sets")
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["for_cases"], condition=Q(for_cases=True),
                                               name="surveys_one_case_question_set")]

    def __str__(self) -> str:
        return self.name

    def kinds(self) -> set[str]:
        return {question.get("kind") for question in self.questions}

    def kind_labels(self) -> list[str]:
        labels = dict(QuestionKind.choices)
        return [str(labels.get(question.get("kind"), "")) for question in self.questions]


class SurveyCampaign(BaseModel):
    """A question set sent to a segment on one channel, open between two dates."""

    name = models.CharField(_("name"), max_length=100)
    question_set = models.ForeignKey(QuestionSet, on_delete=models.PROTECT, related_name="campaigns",
                                     verbose_name=_("question set"))
    audience = models.CharField(_("customers"), max_length=16, choices=Audience.choices, default=Audience.ALL)
    klass = models.CharField(_("class"), max_length=32, blank=True)
    channel = models.CharField(_("channel"), max_length=16, choices=SurveyChannel.choices)
    opens_on = models.DateField(_("opens on"))
    closes_on = models.DateField(_("closes on"))
    status = models.CharField(_("status"), max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("created by"))
    launched_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("launched by"))
    launched_at = models.DateTimeField(_("launched at"), null=True, blank=True)
    in_segment = models.PositiveIntegerField(_("contacts in the segment"), default=0)
    invited = models.PositiveIntegerField(_("invited"), default=0)
    skipped_no_consent = models.PositiveIntegerField(_("skipped: no consent to surveys on the channel"), default=0)

    objects = CompanyWideQuerySet.as_manager()
    protected_fields = (*BaseModel.protected_fields, "status", "launched_by", "launched_at", "in_segment", "invited",
                        "skipped_no_consent", "created_by")

    class Meta:
        verbose_name = _("survey campaign")
        verbose_name_plural = _("survey campaigns")
        ordering = ["-opens_on", "-id"]
        permissions = [("launch_surveycampaign", _("Can launch survey campaigns"))]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("surveys:campaign_detail", args=[self.pk])

    @property
    def audience_label(self) -> str:
        if self.audience in (Audience.ALL, Audience.KEY_ACCOUNTS):
            return str(self.get_audience_display())
        return f"{self.get_audience_display()}: {class_label(self.audience, self.klass)}"


class InvitationQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        """Seen with the customer asked (a rep: their customers'; head office: all)."""
        if not _may(user, f"surveys.view_{self.model._meta.model_name}"):
            return self.none()
        ids = visible_institution_ids(user)
        return self if ids is None else self.filter(institution_id__in=ids)

    def sent(self) -> Self:
        return self.filter(skip_reason="")


class SurveyInvitation(BaseModel):
    """One contact asked once, through a one-time link (only its SHA-256 is kept)."""

    campaign = models.ForeignKey(SurveyCampaign, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="invitations", verbose_name=_("campaign"))
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("case"))
    question_set = models.ForeignKey(QuestionSet, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("question set"))
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+", db_index=False,
                                    verbose_name=_("customer"))
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("contact"))
    channel = models.CharField(_("channel"), max_length=16, choices=SurveyChannel.choices, blank=True)
    token_hash = models.CharField(_("link digest"), max_length=64, unique=True, null=True, blank=True,
                                  editable=False)
    sent_at = models.DateTimeField(_("link made at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    used_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    skip_reason = models.CharField(_("not asked because"), max_length=16, choices=SkipReason.choices, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        verbose_name = _("survey invitation")
        verbose_name_plural = _("survey invitations")
        ordering = ["-created_at", "-id"]
        permissions = [("send_surveyinvitation", _("Can make survey links to send"))]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "contact"], condition=Q(campaign__isnull=False),
                                    name="surveys_campaign_contact_once"),
            models.UniqueConstraint(fields=["case"], condition=Q(case__isnull=False), name="surveys_case_once"),
        ]
        indexes = [models.Index(fields=["institution", "-created_at"], name="surveys_inv_customer_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.campaign or (self.case.number if self.case_id else '')}"

    @property
    def source_label(self) -> str:
        return str(self.campaign) if self.campaign_id else (self.case.number if self.case_id else "")

    @property
    def answered(self) -> bool:
        return self.used_at is not None

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def may_get_link(self) -> bool:
        return not self.skip_reason and self.used_at is None and (
            self.campaign_id is None or self.campaign.status == CampaignStatus.OPEN)


class ResponseQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        if not _may(user, "surveys.view_surveyresponse"):
            return self.none()
        ids = visible_institution_ids(user)
        return self if ids is None else self.filter(institution_id__in=ids)


class SurveyResponse(BaseModel):
    """A contact's answer to one invitation; scores copied out of ``answers`` so results are SQL aggregates."""

    invitation = models.OneToOneField(SurveyInvitation, on_delete=models.PROTECT, related_name="response",
                                      verbose_name=_("invitation"))
    campaign = models.ForeignKey(SurveyCampaign, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="responses", verbose_name=_("campaign"))
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+", db_index=False,
                                    verbose_name=_("customer"))
    answers = models.JSONField(_("answers"), default=dict)
    csat = models.PositiveSmallIntegerField(_("satisfaction (1–5)"), null=True, blank=True,
                                            validators=[MinValueValidator(1), MaxValueValidator(5)])
    nps = models.PositiveSmallIntegerField(_("recommendation (0–10)"), null=True, blank=True,
                                           validators=[MaxValueValidator(10)])
    comment = models.TextField(_("comment"), max_length=MAX_ANSWER, blank=True)
    answered_at = models.DateTimeField(_("answered at"))
    follow_up_case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                       verbose_name=_("follow-up case"))

    objects = ResponseQuerySet.as_manager()

    class Meta:
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        ordering = ["-answered_at", "-id"]
        permissions = [("export_surveyresponse", _("Can export survey results"))]
        indexes = [models.Index(fields=["institution", "-answered_at"], name="surveys_resp_customer_idx"),
                   models.Index(fields=["campaign", "answered_at"], name="surveys_resp_campaign_idx")]

    def __str__(self) -> str:
        return f"{self.invitation_id} · {self.answered_at:%Y-%m-%d}"
