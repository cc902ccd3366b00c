"""Classification and grading: rule versions, runs, each customer's current classes with their inputs, the
history of changes, and the strategy each class calls for.

* ``RuleVersion`` — one dimension's parameters (``grading.rules``) with an effective date: drafted and
  previewed by marketing, published with leadership's approval (``core.approvals``).
* ``GradingRun`` — one recompute over every customer (nightly or on demand).
* ``Classification`` — one row per customer: the inputs the engine read, every component score, the classes
  and the rule version that decided each, so a page can say why. Written in bulk by ``grading.engine``
  (set-based SQL; recomputable, so not audited row by row — the run is the record).
* ``GradeChange`` — each class that changed in a run: old, new, why.
* ``Strategy`` — per class of a dimension: visit cadence, contact frequency, service package, content cadence
  (seeds 000 二.3, 002 一.(二), 003 四.1), read by the engagement and service modules.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any, Self

from django.conf import settings
from django.db import models
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from pharmacrm.core.models import ApprovalRequest, BaseModel
from pharmacrm.core.querysets import ScopedQuerySet
from pharmacrm.customers.models import Institution, visible_institution_ids
from pharmacrm.grading import rules
from pharmacrm.grading.choices import (
    ChangeReason,
    Credit,
    DepthClass,
    Dimension,
    Grade,
    RunKind,
    RunStatus,
    SizeClass,
    StrategyDimension,
    TenureClass,
    VersionStatus,
    class_label,
)


class CompanyWideQuerySet(ScopedQuerySet):
    """Rules, runs and strategies are the company's: whoever may read grades may read them."""

    scoped = True
    permission = "grading.view_classification"

    def visible_to(self, user: Any) -> Self:
        if not getattr(user, "is_authenticated", False) or not user.has_perm(self.permission):
            return self.none()
        return self


class RuleVersion(BaseModel):
    """One version of one dimension's rules. Published versions are never edited: a change is a new version."""

    dimension = models.CharField(_("dimension"), max_length=16, choices=Dimension.choices)
    number = models.PositiveIntegerField(_("version"))
    effective_from = models.DateField(_("effective from"))
    parameters = models.JSONField(_("parameters"))
    status = models.CharField(_("status"), max_length=16, choices=VersionStatus.choices, default=VersionStatus.DRAFT)
    note = models.CharField(_("what changes and why"), max_length=500, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("drafted by"))
    approval = models.ForeignKey(ApprovalRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("approval"))
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    #: the last preview: moves between classes against the stored classification, with samples
    preview = models.JSONField(_("preview"), null=True, blank=True, editable=False)

    objects = CompanyWideQuerySet.as_manager()
    protected_fields = (*BaseModel.protected_fields, "number", "status", "approval", "published_at", "preview",
                        "created_by")
    #: recomputable from the draft and the stored classification (``services.preview_version``)
    derived_fields = ("preview",)

    class Meta:
        verbose_name = _("rule version")
        verbose_name_plural = _("rule versions")
        ordering = ["dimension", "-number"]
        permissions = [("publish_ruleversion", _("Can approve grading rules"))]
        constraints = [models.UniqueConstraint(fields=["dimension", "number"], name="rule_version_unique")]

    def __str__(self) -> str:
        return f"{self.get_dimension_display()} v{self.number}"

    def get_absolute_url(self) -> str:
        return reverse("grading:rule_detail", args=[self.pk])

    @property
    def values(self) -> dict[str, int]:
        """Every parameter of the version: the stored ones over the schema's defaults (``grading.rules``)."""
        return {**rules.defaults(self.dimension), **self.parameters}


class GradingRun(BaseModel):
    """One recompute of every customer's classes as of a date."""

    kind = models.CharField(_("kind"), max_length=16, choices=RunKind.choices)
    as_of = models.DateField(_("as of"))
    status = models.CharField(_("status"), max_length=16, choices=RunStatus.choices, default=RunStatus.RUNNING)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("started by"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    customers = models.PositiveIntegerField(_("customers"), default=0)
    changes = models.PositiveIntegerField(_("changes"), default=0)
    rules = models.JSONField(_("rule versions"), default=dict, blank=True, help_text=_("dimension → version number"))
    error = models.TextField(_("error"), blank=True)

    objects = CompanyWideQuerySet.as_manager()

    class Meta:
        verbose_name = _("grading run")
        verbose_name_plural = _("grading runs")
        ordering = ["-id"]
        permissions = [("run_grading", _("Can start a grading run"))]

    def __str__(self) -> str:
        return f"#{self.pk} {self.as_of}"


class WithCustomerQuerySet(ScopedQuerySet):
    """Classes and their changes are visible with the customer (to roles that read grades)."""

    scoped = True

    def visible_to(self, user: Any) -> Self:
        if not getattr(user, "is_authenticated", False) or not user.has_perm("grading.view_classification"):
            return self.none()
        ids = visible_institution_ids(user)
        return self if ids is None else self.filter(institution_id__in=ids)


class Classification(models.Model):
    """A customer's classes as of the last run, with everything that decided them.

    Amounts are the last 12 months up to the run's month (the purchases tab's window) and the 12 before;
    scores are 0–100. ``category_total_fen`` is the customer's annual purchases in our categories from all
    suppliers when known (its purchase profile), else null — the depth then says "share unknown".
    """

    # A class is derived data, rewritten whole by every run, which writes it from the customers, run and rule
    # versions it holds: no database constraint on its keys, which PostgreSQL would check row by row at commit
    # — seven lookups for each of 1.8M rows, a minute of a two-minute budget. Deleting a customer still deletes
    # its class and deleting a run or rule version a class names is still refused (the application's CASCADE
    # and PROTECT, tested); a customer deleted during a run is left out by the write's join with the customers.
    institution = models.OneToOneField(Institution, on_delete=models.CASCADE, primary_key=True, related_name="+",
                                       db_constraint=False, verbose_name=_("customer"))
    run = models.ForeignKey(GradingRun, on_delete=models.PROTECT, related_name="+", db_index=False,
                            db_constraint=False, verbose_name=_("run"))
    as_of = models.DateField(_("as of"))
    # inputs
    amount_12_fen = models.BigIntegerField(_("purchases, last 12 months"))
    amount_prev_12_fen = models.BigIntegerField(_("purchases, 12 months before"))
    lines_12 = models.PositiveIntegerField(_("purchases in 12 months"))
    last_month = models.PositiveIntegerField(_("last purchase month"), null=True, blank=True)
    cooperation_since = models.DateField(_("cooperating since"), null=True, blank=True)
    since_first_purchase = models.BooleanField(_("dated by first purchase"), default=False,
                                               help_text=_("No first-cooperation date on file: the first purchase."))
    category_total_fen = models.BigIntegerField(_("annual category purchases"), null=True, blank=True)
    credit = models.CharField(_("credit"), max_length=1, choices=Credit.choices)
    volume_percentile = models.FloatField(_("volume percentile"))
    # component scores
    s_volume = models.FloatField(_("volume score"))
    s_growth = models.FloatField(_("growth score"))
    s_frequency = models.FloatField(_("frequency score"))
    s_recency = models.FloatField(_("recency score"))
    s_tenure = models.FloatField(_("tenure score"))
    s_credit = models.FloatField(_("credit score"))
    s_influence = models.FloatField(_("influence score"))
    # classes
    size = models.CharField(_("size"), max_length=16, choices=SizeClass.choices)
    tenure = models.CharField(_("tenure"), max_length=16, choices=TenureClass.choices)
    depth = models.CharField(_("cooperation depth"), max_length=16, choices=DepthClass.choices)
    grade = models.CharField(_("grade"), max_length=16, choices=Grade.choices)
    grade_score = models.FloatField(_("grade score"))
    ka_score = models.FloatField(_("key-account score"))
    ka_rank = models.PositiveIntegerField(_("key-account candidate rank"), null=True, blank=True)
    # rule versions (never deleted: no index needed behind PROTECT; no constraint: see ``institution``)
    size_rule = models.ForeignKey(RuleVersion, on_delete=models.PROTECT, related_name="+", db_index=False,
                                  db_constraint=False)
    tenure_rule = models.ForeignKey(RuleVersion, on_delete=models.PROTECT, related_name="+", db_index=False,
                                    db_constraint=False)
    depth_rule = models.ForeignKey(RuleVersion, on_delete=models.PROTECT, related_name="+", db_index=False,
                                   db_constraint=False)
    grade_rule = models.ForeignKey(RuleVersion, on_delete=models.PROTECT, related_name="+", db_index=False,
                                   db_constraint=False)
    ka_rule = models.ForeignKey(RuleVersion, on_delete=models.PROTECT, related_name="+", db_index=False,
                                db_constraint=False)

    objects = WithCustomerQuerySet.as_manager()

    class Meta:
        verbose_name = _("classification")
        verbose_name_plural = _("classifications")
        ordering = ["-grade_score"]
        # one row per customer, rewritten by every run: only the candidate list gets an index (a partial one);
        # counts by class read the whole table once, a class filter joins on the primary key
        indexes = [models.Index(fields=["ka_rank"], condition=models.Q(ka_rank__isnull=False),
                                name="classification_ka_rank_idx")]

    def __str__(self) -> str:
        return f"{self.institution_id} · {self.grade}"

    @property
    def growth(self) -> float | None:
        if self.amount_prev_12_fen <= 0:
            return None
        return (self.amount_12_fen - self.amount_prev_12_fen) / self.amount_prev_12_fen

    @property
    def share(self) -> float | None:
        if not self.category_total_fen:
            return None
        return self.amount_12_fen / self.category_total_fen

    @property
    def tenure_years(self) -> float | None:
        if self.cooperation_since is None:
            return None
        return (self.as_of - self.cooperation_since).days / 365.25


class GradeChange(models.Model):
    """One class of one customer that a run changed. Written in bulk by the run (not audited row by row)."""

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="+", db_index=False,
                                    verbose_name=_("customer"))
    run = models.ForeignKey(GradingRun, on_delete=models.PROTECT, related_name="+", db_index=False,
                            verbose_name=_("run"))
    changed_on = models.DateField(_("date"))
    dimension = models.CharField(_("dimension"), max_length=16, choices=Dimension.choices)
    old = models.CharField(_("from"), max_length=16)
    new = models.CharField(_("to"), max_length=16)
    reason = models.CharField(_("reason"), max_length=8, choices=ChangeReason.choices)
    old_rule = models.ForeignKey(RuleVersion, on_delete=models.PROTECT, related_name="+", null=True, db_index=False)
    new_rule = models.ForeignKey(RuleVersion, on_delete=models.PROTECT, related_name="+", db_index=False)

    objects = WithCustomerQuerySet.as_manager()

    class Meta:
        verbose_name = _("class change")
        verbose_name_plural = _("class changes")
        ordering = ["-id"]
        indexes = [models.Index(fields=["institution", "-id"], name="grade_change_institution_idx"),
                   models.Index(fields=["run", "dimension"], name="grade_change_run_idx")]

    def __str__(self) -> str:
        return f"{self.institution_id} {self.dimension}: {self.old} → {self.new}"

    @property
    def old_label(self) -> str:
        return class_label(self.dimension, self.old)

    @property
    def new_label(self) -> str:
        return class_label(self.dimension, self.new)


class Strategy(BaseModel):
    """What a class calls for (seed 000 二.3 评估结果应用, seed 002 一.(二), seed 003 四.1 定期回访).

    Read by the engagement module (visit plans, cadence) and the service module (service packages).
    """

    dimension = models.CharField(_("dimension"), max_length=16, choices=StrategyDimension.choices)
    klass = models.CharField(_("class"), max_length=32)
    visit_every_days = models.PositiveIntegerField(_("visit every (days)"), null=True, blank=True,
                                                   help_text=_("Empty: as the rep sees fit."))
    contacts_per_month = models.PositiveSmallIntegerField(_("contacts a month, at least"), null=True, blank=True)
    service_package = models.TextField(_("service package"), blank=True)
    content_cadence = models.CharField(_("content cadence"), max_length=200, blank=True)

    objects = CompanyWideQuerySet.as_manager()

    class Meta:
        verbose_name = _("strategy")
        verbose_name_plural = _("strategies")
        ordering = ["dimension", "id"]
        constraints = [models.UniqueConstraint(fields=["dimension", "klass"], name="strategy_unique")]

    def __str__(self) -> str:
        return f"{self.dimension}/{self.klass}"

    @property
    def klass_label(self) -> str:
        return class_label(self.dimension, self.klass)

    @property
    def says_anything(self) -> bool:
        return bool(self.visit_every_days or self.contacts_per_month or self.service_package or self.content_cadence)


#: strategies in the order a reader wants them: what the grade calls for first, what the customer's type calls for last
STRATEGY_ORDER = (StrategyDimension.GRADE, StrategyDimension.DEPTH, StrategyDimension.SIZE, StrategyDimension.TENURE,
                  StrategyDimension.CUSTOMER_TYPE)


def ordered_strategies(strategies: Iterable[Strategy]) -> list[Strategy]:
    return sorted(strategies, key=lambda strategy: (STRATEGY_ORDER.index(strategy.dimension), strategy.pk))


def strategies_for(strategies: QuerySet, row: Classification, kind: str) -> list[Strategy]:
    """What a customer's classes (``row``) and type (``kind``) call for, leaving out strategies that say nothing:
    one query over ``strategies`` (already scoped to the reader)."""
    applying = strategies.filter(Q(dimension=StrategyDimension.GRADE, klass=row.grade)
                                 | Q(dimension=StrategyDimension.DEPTH, klass=row.depth)
                                 | Q(dimension=StrategyDimension.SIZE, klass=row.size)
                                 | Q(dimension=StrategyDimension.TENURE, klass=row.tenure)
                                 | Q(dimension=StrategyDimension.CUSTOMER_TYPE, klass=kind))
    return ordered_strategies(strategy for strategy in applying if strategy.says_anything)


def month_start(month: int) -> datetime.date:
    return datetime.date(month // 100, month % 100, 1)
