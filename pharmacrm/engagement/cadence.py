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


def month_start(day: datetime.date) -> datetime.datetime:
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
    since = month_start(today)
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


# --- every customer, nightly -----------------------------------------------------------------------------------

#: larger than any interval: stands for "no rule" inside LEAST/MIN, then turned back into NULL
_NO_RULE = 1_000_000
_LEAST = {"sqlite": "MIN", "postgresql": "LEAST"}
_GREATEST = {"sqlite": "MAX", "postgresql": "GREATEST"}
#: last visit before the start of day D less N days: overdue (the same test as ``Row.overdue``)
_OVERDUE = {"sqlite": "julianday(v.last_at) < julianday(%(today_start)s) - e.every_days",
            "postgresql": "v.last_at < %(today_start)s - e.every_days * INTERVAL '1 day'"}

_COLUMNS = ("grade", "depth", "size", "tenure")


def _rule_case(column: str, dimension: str, field: str, strategies: list[Strategy],
               params: dict[str, Any]) -> str:
    """CASE <column> WHEN <class> THEN <value> … END for the strategies of one dimension that set ``field``."""
    whens = []
    for strategy in strategies:
        value = getattr(strategy, field)
        if strategy.dimension == dimension and value:
            key = f"k{len(params)}"
            params[key] = strategy.klass
            whens.append(f"WHEN %({key})s THEN {int(value)}")
    return f"CASE {column} {' '.join(whens)} END" if whens else "NULL"


def compute_all(today: datetime.date | None = None) -> int:
    """Rewrite every live customer's ``CadenceStatus`` in one set-based statement (no per-customer loop): the
    strictest rule of its classes, its last visit, this month's contacts, overdue and short. Returns the rows."""
    from django.db import connection, transaction

    from pharmacrm.core.derived import replace_rows
    from pharmacrm.engagement.models import CadenceStatus

    today = today or policy.today()
    vendor = connection.vendor
    adapt = connection.ops.adapt_datetimefield_value
    today_start = datetime.datetime.combine(today, datetime.time(), tzinfo=policy.CHINA)
    params: dict[str, Any] = {"as_of": today, "today_start": adapt(today_start),
                              "month_start": adapt(month_start(today))}
    strategies = list(_strategies().values())
    sources = [*((f"c.{column}", column) for column in _COLUMNS), ("i.kind", StrategyDimension.CUSTOMER_TYPE)]
    every = ", ".join(f"COALESCE({_rule_case(column, dimension, 'visit_every_days', strategies, params)}, {_NO_RULE})"
                      for column, dimension in sources)
    per_month = ", ".join(f"COALESCE({_rule_case(column, dimension, 'contacts_per_month', strategies, params)}, 0)"
                          for column, dimension in sources)
    statuses = ", ".join(f"'{status}'" for status in DONE_STATUSES)
    customers, customer_params = Institution.objects.live().values("id").query.sql_with_params()
    params.update({f"c{n}": value for n, value in enumerate(customer_params)})
    customers = customers % tuple(f"%(c{n})s" for n in range(len(customer_params)))
    happened = ("COALESCE(checked_in_at, CASE WHEN submitted_at < planned_for THEN submitted_at "
                "ELSE planned_for END)")
    select = f"""
        SELECT e.id, %(as_of)s, e.owner_id, e.province_code, e.every_days, e.contacts_per_month, v.last_at,
               COALESCE(v.month_visits, 0) + COALESCE(m.n, 0),
               CASE WHEN e.every_days IS NULL THEN FALSE WHEN v.last_at IS NULL THEN TRUE
                    ELSE ({_OVERDUE[vendor]}) END,
               CASE WHEN e.contacts_per_month > COALESCE(v.month_visits, 0) + COALESCE(m.n, 0)
                    THEN e.contacts_per_month - COALESCE(v.month_visits, 0) - COALESCE(m.n, 0) ELSE 0 END
        FROM (SELECT i.id, i.owner_id, i.province_code,
                     NULLIF({_LEAST[vendor]}({every}), {_NO_RULE}) AS every_days,
                     NULLIF({_GREATEST[vendor]}({per_month}), 0) AS contacts_per_month
              FROM customers_institution i LEFT JOIN grading_classification c ON c.institution_id = i.id
              WHERE i.id IN ({customers})) e
        LEFT JOIN (SELECT institution_id, MAX({happened}) AS last_at,
                          SUM(CASE WHEN {happened} >= %(month_start)s THEN 1 ELSE 0 END) AS month_visits
                   FROM engagement_visit WHERE status IN ({statuses}) GROUP BY institution_id) v
               ON v.institution_id = e.id
        LEFT JOIN (SELECT institution_id, COUNT(*) AS n FROM engagement_communication
                   WHERE occurred_at >= %(month_start)s GROUP BY institution_id) m ON m.institution_id = e.id"""  # noqa: S608 - names and numbers from this module, values as parameters
    columns = ("institution_id", "as_of", "owner_id", "province_code", "every_days", "contacts_per_month",
               "last_visit_at", "contacts", "overdue", "short_by")
    with transaction.atomic(), connection.cursor() as cursor:
        return replace_rows(cursor, CadenceStatus._meta.db_table, f"({', '.join(columns)}) {select}", params)


@dataclass
class Overview:
    """Every customer in the user's scope as of the last nightly computation: totals, by province, by rep."""

    as_of: datetime.date | None
    total: dict[str, int]
    provinces: list[dict[str, Any]]
    reps: list[dict[str, Any]]


def overview(user: Any, top: int = 30) -> Overview:
    """Read the nightly table (``compute_all``) for a head office or regional view; grouped in the database."""
    from django.db.models import Sum

    from pharmacrm.engagement.models import CadenceStatus
    from pharmacrm.org.models import Division, User

    rows = CadenceStatus.objects.visible_to(user).order_by()
    counts = {"customers": Count("pk"), "overdue": Count("pk", filter=Q(overdue=True)),
              "short": Count("pk", filter=Q(short_by__gt=0)),
              "with_rule": Count("pk", filter=Q(every_days__isnull=False) | Q(contacts_per_month__isnull=False)),
              "required": Coalesce(Sum("contacts_per_month"), 0)}
    total = rows.aggregate(**counts)
    as_of = rows.aggregate(as_of=Max("as_of"))["as_of"] if total["customers"] else None
    provinces = list(rows.values("province_code").annotate(**counts).order_by("-overdue", "province_code"))
    names = dict(Division.objects.filter(pk__in=[row["province_code"] for row in provinces])
                 .values_list("pk", "name"))
    for row in provinces:
        row["name"] = names.get(row["province_code"], row["province_code"])
    reps = list(rows.filter(owner__isnull=False).values("owner_id").annotate(**counts)
                .order_by("-overdue", "owner_id")[:top])
    people = User.objects.in_bulk([row["owner_id"] for row in reps])
    for row in reps:
        row["rep"] = people.get(row["owner_id"])
    return Overview(as_of=as_of, total=total, provinces=provinces, reps=reps)
