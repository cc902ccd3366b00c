"""Case analysis pages (issue 7 "Analysis"): the analysis of a month with its charts and CSV export, and the printable
monthly report for the review meeting (seed 002 五.(二)) with the previous month alongside. Reads only, through
``Case.objects.visible_to`` and ``service.analysis``."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext as _

from pharmacrm.core import policy
from pharmacrm.core.exports import export_table
from pharmacrm.core.generic import require
from pharmacrm.service import analysis
from pharmacrm.service.models import Case

#: chart geometry in SVG units: each column is this wide, the plot this high
COLUMN = 100
PLOT = 120


def _month(request: HttpRequest) -> tuple[analysis.Month, bool]:
    return analysis.parse_month(request.GET.get("month"))


def _picker(month: analysis.Month, understood: bool) -> dict[str, Any]:
    latest = analysis.Month.of(policy.today())
    return {"month": month, "understood": understood, "previous_month": month.previous(),
            "next_month": month.next() if (month.next().year, month.next().month) <= (latest.year, latest.month)
            else None, "latest": latest, "first_day": month.start.date(),
            "last_day": (month.end - datetime.timedelta(days=1)).date()}


def pareto_chart(causes: list[dict[str, Any]]) -> dict[str, Any]:
    """Columns for the causes (most first) scaled to the largest, and the cumulative share as a line over them."""
    top = max([row["count"] for row in causes] or [1])
    bars, points = [], []
    for index, row in enumerate(causes):
        height = round(row["count"] * PLOT / top, 1)
        bars.append({**row, "x": index * COLUMN + 10, "width": COLUMN - 20, "y": round(PLOT - height, 1),
                     "height": height})
        points.append(f"{index * COLUMN + COLUMN // 2},{round(PLOT - row['cumulative'] * PLOT / 100, 1)}")
    return {"bars": bars, "points": " ".join(points), "width": max(len(causes), 1) * COLUMN, "height": PLOT,
            "line": round(PLOT - analysis.PARETO_LINE * PLOT / 100, 1)}


def trend_chart(months: list[dict[str, Any]]) -> dict[str, Any]:
    top = max([row["count"] for row in months] or [1]) or 1
    bars = []
    for index, row in enumerate(months):
        height = round(row["count"] * PLOT / top, 1)
        bars.append({**row, "x": index * COLUMN + 5, "width": COLUMN - 10, "y": round(PLOT - height, 1),
                     "height": height})
    return {"bars": bars, "width": max(len(months), 1) * COLUMN, "height": PLOT}


def _export(request: HttpRequest, cases: Any, month: analysis.Month) -> HttpResponse:
    """The page's tables as one CSV (all products, batches and provinces), audited; for those who work cases."""
    if not request.user.has_perm("service.work_case"):
        raise PermissionDenied
    summary = analysis.summarize(cases, month, top=None)
    return export_table(actor=request.user, model=Case._meta.label, name=f"case-analysis-{month}",
                        header=[_("Section"), _("Item"), _("Code"), _("Cases"), _("Share %"),
                                _("Cumulative % / months")],
                        rows=analysis.csv_rows(summary), filters={"month": str(month)})


@login_required
def analysis_page(request: HttpRequest) -> HttpResponse:
    """``?month=YYYY-MM`` (default: the last full month); ``&format=csv`` exports it."""
    require(request, "service.view_case")
    month, understood = _month(request)
    cases = Case.objects.visible_to(request.user)
    if request.GET.get("format") == "csv":
        return _export(request, cases, month)
    summary = analysis.summarize(cases, month)
    return render(request, "service/analysis.html", {
        **_picker(month, understood), "summary": summary, "pareto": pareto_chart(summary.causes),
        "trend": trend_chart(analysis.monthly_counts(cases, month)), "tab": "analysis",
        "can_export": request.user.has_perm("service.work_case"), "batch_signal": analysis.BATCH_SIGNAL,
        "recurring_months": analysis.RECURRING_MONTHS, "recurring_window": analysis.RECURRING_WINDOW})


@login_required
def report_page(request: HttpRequest) -> HttpResponse:
    """The monthly report for the review meeting: the month's numbers beside the previous month's, printable."""
    require(request, "service.view_case")
    month, understood = _month(request)
    cases = Case.objects.visible_to(request.user)
    current = analysis.summarize(cases, month)
    previous = analysis.summarize(cases, month.previous())
    return render(request, "service/report.html", {
        **_picker(month, understood), "summary": current, "before": previous,
        "tables": analysis.compare(current, previous), "tab": "report"})


urlpatterns = [
    path("analysis/", analysis_page, name="analysis"),
    path("report/", report_page, name="report"),
]
