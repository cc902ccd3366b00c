"""Contact cadence (seed 000 三.4 沟通频率, seed 002 五 CRM metrics): does every customer get the contact its classes
call for?

What a customer needs comes from the grading strategy table (``grading.Strategy``): of the strategies that apply
to it (its grade, depth, size, tenure and type) the shortest ``visit_every_days`` and the largest
``contacts_per_month`` — the strictest rule wins (优质 weekly, core ≥ 3 contacts a month, large monthly …).
What it got: its last visit (checked in, or reported) and this month's contacts (visits reported and contacts
logged). A customer is *overdue* when its last visit is older than its interval (or it was never visited) and
*short* when this month's contacts are fewer than required.

Everything is read in a handful of grouped queries for the set asked for (a rep's book, a team's), never one
query per customer.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, DateTimeField, Max, Q, QuerySet
from django.db.models.functions import Coalesce, Least
from django.utils import timezone

from pharmacrm.core import policy
from pharmacrm.customers.models import Institution
from pharmacrm.engagement.choices import VisitStatus
from pharmacrm.engagement.models import Communication, Visit
from pharmacrm.grading.choices import StrategyDimension
from pharmacrm.grading.models import Classification, Strategy

#: visits that happened (a planned or cancelled one does not count as contact)
DONE_STATUSES = (VisitStatus.IN_PROGRESS, VisitStatus.SUBMITTED, VisitStatus.REVIEWED)
#: most customers one cadence page reads (a rep's book is ~500; a team's a few thousand)
MAX_CUSTOMERS = 20_000


@dataclass
class Row:
    institution: Institution
    every_days: int | None
    contacts_per_month: int | None
    last_visit: datetime.date | None
    contacts: int
    today: datetime.date
    #: the strategies that apply to the customer's classes and say something about contact
    rules: tuple[Strategy, ...] = ()

    @property
    def due_on(self) -> datetime.date | None:
        if self.every_days is None:
            return None
        return self.last_visit + datetime.timedelta(days=self.every_days) if self.last_visit else self.today

    @property
    def overdue(self) -> bool:
        """Past its interval, or never visited although its classes call for visits."""
        if self.every_days is None:
            return False
        return self.last_visit is None or self.due_on < self.today  # type: ignore[operator]

    @property
    def days_overdue(self) -> int:
        return (self.today - self.due_on).days if self.overdue and self.due_on and self.last_visit else 0

    @property
    def short_by(self) -> int:
        return max(0, (self.contacts_per_month or 0) - self.contacts)

    @property
    def below(self) -> bool:
        return self.overdue or self.short_by > 0


def _month_start(day: datetime.date) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, 1, tzinfo=policy.CHINA)


def _strategies() -> dict[tuple[str, str], Strategy]:
    return {(strategy.dimension, strategy.klass): strategy for strategy in Strategy.objects.all()
            if strategy.visit_every_days or strategy.contacts_per_month}


def rows_for(institutions: QuerySet, today: datetime.date | None = None) -> list[Row]:
    """The cadence of each of ``institutions`` (at most ``MAX_CUSTOMERS``), in five queries."""
    today = today or policy.today()
    customers = {institution.pk: institution for institution in institutions.order_by("pk").only(
        "pk", "name", "kind", "owner_id", "academic_owner_id")[:MAX_CUSTOMERS]}
    ids = list(customers)
    strategies = _strategies()
    classes = {row[0]: row[1:] for row in Classification.objects.filter(institution_id__in=ids).values_list(
        "institution_id", "grade", "depth", "size", "tenure")}
    # when a visit happened: its check-in, else its planned time (a phone call reported later), never later
    # than its report (a visit reported before the planned time happened when reported)
    done = (Visit.objects.filter(institution_id__in=ids, status__in=DONE_STATUSES).order_by()
            .annotate(happened=Coalesce("checked_in_at", Least("planned_for", "submitted_at"),
                                        output_field=DateTimeField())))
    last_visits = dict(done.values_list("institution_id").annotate(last=Max("happened")))
    since = _month_start(today)
    contacts = dict(done.filter(happened__gte=since).values_list("institution_id").annotate(n=Count("pk")))
    for pk, n in (Communication.objects.filter(institution_id__in=ids, occurred_at__gte=since).order_by()
                  .values_list("institution_id").annotate(n=Count("pk"))):
        contacts[pk] = contacts.get(pk, 0) + n
    rows = []
    for pk, institution in customers.items():
        grade, depth, size, tenure = classes.get(pk, (None, None, None, None))
        applying = [strategies.get(key) for key in (
            (StrategyDimension.GRADE, grade), (StrategyDimension.DEPTH, depth), (StrategyDimension.SIZE, size),
            (StrategyDimension.TENURE, tenure), (StrategyDimension.CUSTOMER_TYPE, institution.kind))]
        applying = [strategy for strategy in applying if strategy is not None]
        intervals = [strategy.visit_every_days for strategy in applying if strategy.visit_every_days]
        per_month = [strategy.contacts_per_month for strategy in applying if strategy.contacts_per_month]
        last = last_visits.get(pk)
        rows.append(Row(institution=institution, every_days=min(intervals) if intervals else None,
                        contacts_per_month=max(per_month) if per_month else None,
                        last_visit=timezone.localtime(last, policy.CHINA).date() if last else None,
                        contacts=contacts.get(pk, 0), today=today, rules=tuple(applying)))
    return rows


def book_of(user: Any) -> QuerySet:
    """The customers a rep covers (commercial or academic owner), live ones."""
    return Institution.objects.live().filter(Q(owner=user) | Q(academic_owner=user))


@dataclass
class Summary:
    customers: int
    with_rule: int
    overdue: int
    short: int
    contacts: int
    required: int

    @property
    def attainment(self) -> int | None:
        """Share of this month's required contacts done, in percent (capped per customer at what it needs)."""
        return round(100 * self.contacts / self.required) if self.required else None


def summarize(rows: Iterable[Row]) -> Summary:
    rows = list(rows)
    required = sum(row.contacts_per_month or 0 for row in rows)
    done = sum(min(row.contacts, row.contacts_per_month or 0) for row in rows)
    return Summary(customers=len(rows), with_rule=sum(1 for row in rows if row.every_days or row.contacts_per_month),
                   overdue=sum(1 for row in rows if row.overdue), short=sum(1 for row in rows if row.short_by),
                   contacts=done, required=required)
