"""Service-desk numbers other pages show: the open cases of a rep's customers (the rep's Today page) and the
24-hour response to clinical questions (seed 002 六.(二)), a CRM metric on the cadence page."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, Q, QuerySet

from pharmacrm.service.choices import CaseKind, ClockKind
from pharmacrm.service.models import Case, SlaClock


def open_cases(user: Any, customers: QuerySet, limit: int = 10) -> tuple[list[Case], int]:
    """The open cases of ``customers`` the user sees, the latest first, and how many there are."""
    if not user.has_perm("service.view_case"):
        return [], 0
    rows = Case.objects.visible_to(user).open().filter(institution__in=customers.values("pk"))
    return list(rows.select_related("institution").order_by("-received_at", "-id")[:limit]), rows.count()


@dataclass
class Response:
    asked: int
    on_time: int
    late: int
    waiting: int

    @property
    def on_time_percent(self) -> int | None:
        answered = self.on_time + self.late
        return round(100 * self.on_time / answered) if answered else None


def clinical_response(user: Any, since: datetime.datetime) -> Response | None:
    """Clinical questions received since ``since`` in the user's scope: first responses on time (within
    ``service.first_response_hours``), late, and still waiting. None for users who do not see cases."""
    if not user.has_perm("service.view_case"):
        return None
    counts = (SlaClock.objects.visible_to(user)
              .filter(kind=ClockKind.FIRST_RESPONSE, case__kind=CaseKind.CLINICAL, started_at__gte=since)
              .aggregate(asked=Count("pk"),
                         on_time=Count("pk", filter=Q(stopped_at__isnull=False, stopped_at__lte=F("due_at"))),
                         late=Count("pk", filter=Q(stopped_at__gt=F("due_at"))),
                         waiting=Count("pk", filter=Q(stopped_at__isnull=True))))
    return Response(**counts)
