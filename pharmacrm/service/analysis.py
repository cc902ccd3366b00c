"""Case analysis (issue 7 "Analysis"; seed 002 五.(二) monthly review): what the cases of one month were about and
how fast they were answered, over the cases the user may see (``Case.objects.visible_to``).

* cases by kind, by root cause as a Pareto table (most frequent first, with the cumulative share; the causes
  that make up the first 80 % are the "vital few"), by product, by product and batch (a batch with two cases or
  more in a month is a quality signal), by province;
* hours to the first response (``acknowledged_at - received_at``) and to resolution (``resolved_at -
  received_at``): median and average, computed in the database with the same ORM expression on SQLite and
  PostgreSQL (a temporal subtraction; the median is the middle row in that order, no engine-specific
  percentile function);
* the share of the month's SLA clocks breached;
* recurring causes: root cause × product found in two or more consecutive months (up to the chosen one);
* where the month's cases stand now: open, resolved (awaiting the customer or the follow-up), closed.

Every count is one grouped query; nothing loops over cases in Python.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from pharmacrm.core import policy
from pharmacrm.org.models import Division
from pharmacrm.sales.models import Product
from pharmacrm.service.choices import OPEN_CASE_STATUSES, CaseKind, CaseStatus, ClockKind, RootCause
from pharmacrm.service.models import SlaClock

#: rows the product and batch tables show (the CSV has them all)
TOP_ROWS = 10
#: a batch with at least this many cases in a month is a recurring quality signal
BATCH_SIGNAL = 2
#: a root cause × product found in at least this many consecutive months recurs
RECURRING_MONTHS = 2
#: how many months back the recurring-cause search looks (the chosen month included)
RECURRING_WINDOW = 6
#: the Pareto line: the causes that together reach this share are the "vital few"
PARETO_LINE = 80
RESOLVED_STATUSES = (CaseStatus.RESOLVED, CaseStatus.CONFIRMED, CaseStatus.FOLLOWED_UP)
MONTH_PATTERN = re.compile(r"^([0-9]{4})-([0-9]{1,2})$")

FIRST_RESPONSE = ExpressionWrapper(F("acknowledged_at") - F("received_at"), output_field=DurationField())
RESOLUTION = ExpressionWrapper(F("resolved_at") - F("received_at"), output_field=DurationField())


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def of(cls, day: datetime.date) -> Month:
        return cls(day.year, day.month)

    @property
    def start(self) -> datetime.datetime:
        """Its first moment, China time."""
        return datetime.datetime(self.year, self.month, 1, tzinfo=policy.CHINA)

    @property
    def end(self) -> datetime.datetime:
        return self.next().start

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def back(self, months: int) -> Month:
        month = self
        for _step in range(months):
            month = month.previous()
        return month

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def last_full_month(today: datetime.date | None = None) -> Month:
    return Month.of(today or policy.today()).previous()


def parse_month(value: Any, today: datetime.date | None = None) -> tuple[Month, bool]:
    """``YYYY-MM`` as a month, and whether it was understood: anything else (or a month after this one, or before
    2000) is the last full month."""
    today = today or policy.today()
    default = last_full_month(today)
    match = MONTH_PATTERN.match(str(value or "").strip())
    if not match:
        return default, not value
    year, month = int(match.group(1)), int(match.group(2))
    if not (1 <= month <= 12 and 2000 <= year) or (year, month) > (today.year, today.month):
        return default, False
    return Month(year, month), True


# --- the numbers ------------------------------------------------------------------------------------------------


@dataclass
class Summary:
    month: Month
    total: int = 0
    kinds: list[dict[str, Any]] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    causes: list[dict[str, Any]] = field(default_factory=list)
    #: cases of the kinds that need a root cause which have none yet
    causes_missing: int = 0
    products: list[dict[str, Any]] = field(default_factory=list)
    batches: list[dict[str, Any]] = field(default_factory=list)
    provinces: list[dict[str, Any]] = field(default_factory=list)
    first_response: dict[str, Any] = field(default_factory=dict)
    resolution: dict[str, Any] = field(default_factory=dict)
    clocks: list[dict[str, Any]] = field(default_factory=list)
    clocks_total: int = 0
    clocks_breached: int = 0
    recurring: list[dict[str, Any]] = field(default_factory=list)

    @property
    def breached_percent(self) -> float | None:
        return _percent(self.clocks_breached, self.clocks_total) if self.clocks_total else None


def _percent(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def _hours(value: datetime.timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / 3600, 1)


def in_month(cases: QuerySet, month: Month) -> QuerySet:
    """The cases received in ``month`` (China time)."""
    return cases.filter(received_at__gte=month.start, received_at__lt=month.end)


def summarize(cases: QuerySet, month: Month, *, top: int | None = TOP_ROWS) -> Summary:
    """The month's numbers over ``cases`` (a scoped queryset: ``Case.objects.visible_to(user)``); ``top`` limits
    the product and batch tables (None: all rows, for the CSV)."""
    scoped = cases.order_by()
    period = in_month(scoped, month)
    summary = Summary(month=month)
    _kinds_and_statuses(summary, period)
    _causes(summary, period)
    _products(summary, period, top)
    _provinces(summary, period)
    summary.first_response = _duration(period.filter(acknowledged_at__isnull=False), FIRST_RESPONSE)
    summary.resolution = _duration(period.filter(resolved_at__isnull=False), RESOLUTION)
    _clocks(summary, period)
    summary.recurring = recurring_causes(scoped, month)
    return summary


def _kinds_and_statuses(summary: Summary, period: QuerySet) -> None:
    counts: dict[str, int] = {}
    statuses = {"open": 0, "resolved": 0, "closed": 0}
    for kind, status, n in period.values_list("kind", "status").annotate(n=Count("pk")):
        counts[kind] = counts.get(kind, 0) + n
        bucket = "open" if status in OPEN_CASE_STATUSES else "resolved" if status in RESOLVED_STATUSES else "closed"
        statuses[bucket] += n
    summary.total = sum(counts.values())
    summary.statuses = statuses
    summary.kinds = [{"value": value, "label": label, "count": counts.get(value, 0),
                      "percent": _percent(counts.get(value, 0), summary.total)} for value, label in CaseKind.choices]


def _causes(summary: Summary, period: QuerySet) -> None:
    """The Pareto table: causes by count, most first (ties by the order of the choices), with the cumulative share
    of the cases whose cause is known."""
    counts = dict(period.exclude(root_cause="").values_list("root_cause").annotate(n=Count("pk")))
    order = {value: index for index, value in enumerate(RootCause.values)}
    known = sum(counts.values())
    running = 0
    rows = []
    for value in sorted(counts, key=lambda cause: (-counts[cause], order.get(cause, len(order)))):
        before = running
        running += counts[value]
        rows.append({"value": value, "label": RootCause(value).label if value in order else value,
                     "count": counts[value], "percent": _percent(counts[value], known),
                     "cumulative": _percent(running, known), "vital": _percent(before, known) < PARETO_LINE})
    summary.causes = rows
    summary.causes_missing = period.filter(root_cause="", kind__in=(CaseKind.COMPLAINT, CaseKind.QUALITY)).count()


def _product_names(ids: set[int]) -> dict[int, str]:
    return {product.pk: str(product) for product in Product.objects.filter(pk__in=ids)}


def _products(summary: Summary, period: QuerySet, top: int | None) -> None:
    by_product = list(period.filter(product__isnull=False).values_list("product_id").annotate(n=Count("pk"))
                      .order_by("-n", "product_id"))
    batches = list(period.filter(product__isnull=False).exclude(batch_number="")
                   .values_list("product_id", "batch_number").annotate(n=Count("pk")).filter(n__gte=BATCH_SIGNAL)
                   .order_by("-n", "product_id", "batch_number"))
    if top is not None:
        by_product, batches = by_product[:top], batches[:top]
    names = _product_names({row[0] for row in by_product} | {row[0] for row in batches})
    summary.products = [{"product_id": pk, "label": names.get(pk, str(pk)), "count": n,
                         "percent": _percent(n, summary.total)} for pk, n in by_product]
    summary.batches = [{"product_id": pk, "label": names.get(pk, str(pk)), "batch_number": batch, "count": n}
                       for pk, batch, n in batches]


def _provinces(summary: Summary, period: QuerySet) -> None:
    counts = list(period.values_list("institution__province_code").annotate(n=Count("pk"))
                  .order_by("-n", "institution__province_code"))
    names = dict(Division.objects.filter(code__in=[code for code, _n in counts]).values_list("code", "name"))
    summary.provinces = [{"code": code, "label": names.get(code, code or _("Unknown")), "count": n,
                          "percent": _percent(n, summary.total)} for code, n in counts]


def _duration(cases: QuerySet, expression: ExpressionWrapper) -> dict[str, Any]:
    """Count, average and median of ``expression`` (hours), in the database: the median is the middle row (the mean
    of the two middle rows) ordered by the duration."""
    timed = cases.annotate(duration=expression)
    totals = timed.aggregate(n=Count("pk"), average=Avg("duration"))
    n = totals["n"]
    if not n:
        return {"count": 0, "average": None, "median": None}
    ordered = timed.order_by("duration", "pk").values_list("duration", flat=True)
    middle = [ordered[(n - 1) // 2]] if n % 2 else list(ordered[n // 2 - 1:n // 2 + 1])
    median = sum(middle, datetime.timedelta()) / len(middle)
    return {"count": n, "average": _hours(totals["average"]), "median": _hours(median)}


def _clocks(summary: Summary, period: QuerySet) -> None:
    rows = dict.fromkeys(ClockKind.values, (0, 0))
    for kind, total, breached in (SlaClock.objects.filter(case__in=period.values("pk")).order_by()
                                  .values_list("kind").annotate(total=Count("pk"),
                                                                breached=Count("pk", filter=Q(breached_at__isnull=False)))):
        rows[kind] = (total, breached)
    summary.clocks = [{"value": value, "label": label, "total": rows[value][0], "breached": rows[value][1],
                       "percent": _percent(rows[value][1], rows[value][0])}
                      for value, label in ClockKind.choices if rows[value][0]]
    summary.clocks_total = sum(total for total, _breached in rows.values())
    summary.clocks_breached = sum(breached for _total, breached in rows.values())


def recurring_causes(cases: QuerySet, month: Month) -> list[dict[str, Any]]:
    """Root cause × product found in ``RECURRING_MONTHS`` or more consecutive months of the ``RECURRING_WINDOW``
    months up to ``month``; the ones still recurring in ``month`` first, then the longest runs."""
    first = month.back(RECURRING_WINDOW - 1)
    rows = (cases.order_by().filter(received_at__gte=first.start, received_at__lt=month.end, product__isnull=False)
            .exclude(root_cause="")
            .annotate(month=TruncMonth("received_at", tzinfo=policy.CHINA))
            .values_list("root_cause", "product_id", "month").annotate(n=Count("pk")))
    seen: dict[tuple[str, int], dict[Month, int]] = {}
    for cause, product, start, n in rows:
        local = timezone.localtime(start, policy.CHINA) if timezone.is_aware(start) else start
        seen.setdefault((cause, product), {})[Month(local.year, local.month)] = n
    found = []
    for (cause, product), months in seen.items():
        run, longest, latest = 0, 0, 0
        current = first
        for _index in range(RECURRING_WINDOW):
            run = run + 1 if current in months else 0
            longest = max(longest, run)
            latest = run  # the run that ends with ``month`` once the loop is done
            current = current.next()
        if longest >= RECURRING_MONTHS:
            found.append({"cause": cause, "product_id": product, "months": sorted(str(m) for m in months),
                          "run": longest, "ongoing": latest >= RECURRING_MONTHS, "count": sum(months.values())})
    names = _product_names({row["product_id"] for row in found})
    for row in found:
        row["cause_label"] = RootCause(row["cause"]).label if row["cause"] in RootCause.values else row["cause"]
        row["product_label"] = names.get(row["product_id"], str(row["product_id"]))
    return sorted(found, key=lambda row: (not row["ongoing"], -row["run"], -row["count"], row["cause"],
                                          row["product_id"]))


# --- the review meeting's comparison ----------------------------------------------------------------------------


def compare(current: Summary, previous: Summary) -> dict[str, list[dict[str, Any]]]:
    """The report's tables: each line with this month's and the previous month's value."""

    def line(label: Any, now: Any, before: Any) -> dict[str, Any]:
        change = now - before if isinstance(now, int | float) and isinstance(before, int | float) else None
        return {"label": label, "now": now, "before": before,
                "change": round(change, 1) if isinstance(change, float) else change}

    overview = [
        line(_("Cases received"), current.total, previous.total),
        line(_("Still open"), current.statuses.get("open", 0), previous.statuses.get("open", 0)),
        line(_("Resolved, not closed"), current.statuses.get("resolved", 0), previous.statuses.get("resolved", 0)),
        line(_("Closed"), current.statuses.get("closed", 0), previous.statuses.get("closed", 0)),
        line(_("First response, median hours"), current.first_response.get("median"),
             previous.first_response.get("median")),
        line(_("First response, average hours"), current.first_response.get("average"),
             previous.first_response.get("average")),
        line(_("Resolution, median hours"), current.resolution.get("median"), previous.resolution.get("median")),
        line(_("Resolution, average hours"), current.resolution.get("average"), previous.resolution.get("average")),
        line(_("Deadlines breached (%)"), current.breached_percent, previous.breached_percent),
    ]
    before_kinds = {row["value"]: row["count"] for row in previous.kinds}
    kinds = [line(row["label"], row["count"], before_kinds.get(row["value"], 0)) for row in current.kinds]
    before_causes = {row["value"]: row["count"] for row in previous.causes}
    causes = [line(row["label"], row["count"], before_causes.pop(row["value"], 0)) for row in current.causes]
    causes += [line(RootCause(value).label if value in RootCause.values else value, 0, n)
               for value, n in before_causes.items()]
    return {"overview": overview, "kinds": kinds, "causes": causes}


def csv_rows(summary: Summary) -> list[list[Any]]:
    """Every table of the analysis page as one long table: section, item, code, cases, share %, cumulative %."""
    rows: list[list[Any]] = [[_("Total"), _("Cases received"), "", summary.total, "", ""]]
    rows += [[_("Status"), label, key, summary.statuses.get(key, 0), _percent(summary.statuses.get(key, 0),
                                                                              summary.total), ""]
             for key, label in (("open", _("Open")), ("resolved", _("Resolved, not closed")), ("closed", _("Closed")))]
    rows += [[_("Kind"), row["label"], row["value"], row["count"], row["percent"], ""] for row in summary.kinds]
    rows += [[_("Root cause"), row["label"], row["value"], row["count"], row["percent"], row["cumulative"]]
             for row in summary.causes]
    rows += [[_("Product"), row["label"], row["product_id"], row["count"], row["percent"], ""]
             for row in summary.products]
    rows += [[_("Batch"), f"{row['label']} · {row['batch_number']}", row["batch_number"], row["count"], "", ""]
             for row in summary.batches]
    rows += [[_("Province"), row["label"], row["code"], row["count"], row["percent"], ""] for row in summary.provinces]
    for section, values in ((_("First response (hours)"), summary.first_response),
                            (_("Resolution (hours)"), summary.resolution)):
        rows += [[section, _("Cases"), "count", values.get("count", 0), "", ""],
                 [section, _("Median"), "median", values.get("median") if values.get("median") is not None else "",
                  "", ""],
                 [section, _("Average"), "average", values.get("average") if values.get("average") is not None
                  else "", "", ""]]
    rows += [[_("Deadlines breached"), row["label"], row["value"], row["breached"], row["percent"], ""]
             for row in summary.clocks]
    rows += [[_("Recurring cause"), f"{row['cause_label']} · {row['product_label']}", row["cause"], row["count"], "",
              " ".join(row["months"])] for row in summary.recurring]
    return rows


def monthly_counts(cases: QuerySet, month: Month, months: int = 12) -> list[dict[str, Any]]:
    """Cases received per month, the ``months`` months up to ``month`` (one grouped query)."""
    first = month.back(months - 1)
    counts: dict[Month, int] = {}
    for start, n in (cases.order_by().filter(received_at__gte=first.start, received_at__lt=month.end)
                     .annotate(month=TruncMonth("received_at", tzinfo=policy.CHINA)).values_list("month")
                     .annotate(n=Count("pk"))):
        local = timezone.localtime(start, policy.CHINA) if timezone.is_aware(start) else start
        counts[Month(local.year, local.month)] = n
    rows, current = [], first
    for _index in range(months):
        rows.append({"month": current, "count": counts.get(current, 0)})
        current = current.next()
    return rows
