"""Survey results (seed 000 四.3 对调查结果进行分析总结): response rate, satisfaction (average and distribution)
and net promoter score, overall and by grade, province or product — each one aggregate query over the
invitations the user may see.

NPS = % promoters (9–10) − % detractors (0–6) of those who gave a recommendation score.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Avg, Count, F, OuterRef, Q, QuerySet, Subquery

from pharmacrm.grading.choices import Grade
from pharmacrm.grading.models import Classification
from pharmacrm.org.models import Division
from pharmacrm.sales.models import Product
from pharmacrm.surveys.choices import Breakdown


@dataclass
class Result:
    """The numbers of one group (or of all)."""

    key: Any
    label: str
    sent: int
    answered: int
    csat_count: int
    csat_average: float | None
    csat_distribution: list[int] = field(default_factory=list)
    nps_count: int = 0
    promoters: int = 0
    detractors: int = 0

    @property
    def response_rate(self) -> float | None:
        return round(100 * self.answered / self.sent, 1) if self.sent else None

    @property
    def nps(self) -> float | None:
        return round(100 * (self.promoters - self.detractors) / self.nps_count, 1) if self.nps_count else None

    @property
    def passives(self) -> int:
        return self.nps_count - self.promoters - self.detractors


def _aggregates() -> dict[str, Any]:
    answered = Q(response__isnull=False)
    values: dict[str, Any] = {
        "sent": Count("pk"), "answered": Count("pk", filter=answered),
        "csat_count": Count("response__csat"), "csat_average": Avg("response__csat"),
        "nps_count": Count("response__nps"), "promoters": Count("pk", filter=Q(response__nps__gte=9)),
        "detractors": Count("pk", filter=Q(response__nps__lte=6)),
    }
    for score in range(1, 6):
        values[f"csat_{score}"] = Count("pk", filter=Q(response__csat=score))
    return values


def _result(row: dict[str, Any], key: Any, label: str) -> Result:
    average = row["csat_average"]
    return Result(key=key, label=label, sent=row["sent"], answered=row["answered"], csat_count=row["csat_count"],
                  csat_average=round(float(average), 2) if average is not None else None,
                  csat_distribution=[row[f"csat_{score}"] for score in range(1, 6)], nps_count=row["nps_count"],
                  promoters=row["promoters"], detractors=row["detractors"])


def overall(invitations: QuerySet) -> Result:
    """All of ``invitations`` (sent ones: those skipped for want of consent were never asked)."""
    return _result(invitations.sent().aggregate(**_aggregates()), None, "")


def breakdown(invitations: QuerySet, by: str) -> list[Result]:
    """One row per grade (the customer's class in the last grading), province or product (of the closed case;
    campaigns are about no product), largest first."""
    queryset = invitations.sent().order_by()
    if by == Breakdown.SEGMENT:
        queryset = queryset.annotate(group=Subquery(
            Classification.objects.filter(institution=OuterRef("institution_id")).values("grade")[:1]))
    elif by == Breakdown.REGION:
        queryset = queryset.annotate(group=F("institution__province_code"))
    elif by == Breakdown.PRODUCT:
        queryset = queryset.annotate(group=F("case__product_id"))
    else:
        raise ValueError(by)
    rows = list(queryset.values("group").annotate(**_aggregates()).order_by("-sent", "group"))
    labels = _labels(by, [row["group"] for row in rows if row["group"] is not None])
    return [_result(row, row["group"], labels.get(row["group"], "—")) for row in rows]


def _labels(by: str, keys: list[Any]) -> dict[Any, str]:
    if by == Breakdown.SEGMENT:
        return {key: str(Grade(key).label) if key in Grade.values else key for key in keys}
    if by == Breakdown.REGION:
        return dict(Division.objects.filter(code__in=keys).values_list("code", "name"))
    return {product.pk: str(product) for product in Product.objects.filter(pk__in=keys)}


def table_rows(results: list[Result]) -> list[list[Any]]:
    """Rows of the CSV export (numbers as numbers)."""
    return [[result.label, result.sent, result.answered, result.response_rate, result.csat_average,
             *result.csat_distribution, result.nps, result.promoters, result.passives, result.detractors]
            for result in results]
