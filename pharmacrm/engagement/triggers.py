"""Special visits raised by events (seed 000 三.1 专项拜访: 重要客户、新客户、潜在客户、问题客户).

Every morning, after the nightly grading, each customer that one of these events touched gets a visit planned
for its rep ``engagement.special_visit_lead_days`` ahead, with the event as its reason:

* its grade dropped in a recent run (优质 → 一般, 一般 → 潜在) — a problem customer;
* its last 12 months' purchases fell by ``engagement.purchase_drop_percent`` or more against the 12 before
  (from the grading inputs) — a problem customer;
* one of its licences ends within ``engagement.licence_visit_days`` — an important customer (no licence, no
  sale: GSP);
* it was approved as a customer in the last 30 days and nobody has visited it yet — a new customer.

An event raises one visit, ever (``Visit.trigger`` is unique per customer): running the job twice, or the next
morning, adds nothing for the same event. Customers without an active owner are left out. Each rep gets one
message with the number of visits raised for them. A complaint raises its visit when it is logged
(``raise_for``, called by the service desk).
"""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.db.models import F
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from pharmacrm.core import policy
from pharmacrm.core.audit import audited_bulk_create
from pharmacrm.core.notifications import notify
from pharmacrm.customers.choices import ReviewStatus
from pharmacrm.customers.models import Institution, Licence
from pharmacrm.engagement.choices import VisitKind
from pharmacrm.engagement.models import Visit
from pharmacrm.grading.choices import Dimension, Grade
from pharmacrm.grading.models import Classification, GradeChange
from pharmacrm.org.models import User

#: grades from best to worst: a change to the right is a drop
GRADE_ORDER = [Grade.PREMIUM, Grade.GENERAL, Grade.POTENTIAL]
#: how far back the job looks for grade changes (a missed morning is caught up)
LOOKBACK_DAYS = 7
NEW_CUSTOMER_DAYS = 30
#: planned at this hour (China time) on the day
PLANNED_HOUR = 10


@dataclass(frozen=True)
class Event:
    institution_id: int
    trigger: str
    kind: str
    reason: str


def _grade_drops(on: datetime.date) -> list[Event]:
    changes = (GradeChange.objects.filter(dimension=Dimension.GRADE, changed_on__gte=on - datetime.timedelta(
        days=LOOKBACK_DAYS), changed_on__lte=on).order_by("id").values_list("institution_id", "old", "new", "run_id"))
    rank = {grade: index for index, grade in enumerate(GRADE_ORDER)}
    labels = dict(Grade.choices)
    return [Event(pk, f"grade:{run}", VisitKind.PROBLEM, _("Grade dropped: %(old)s → %(new)s") % {
        "old": labels.get(old, old), "new": labels.get(new, new)})
        for pk, old, new, run in changes if old in rank and new in rank and rank[new] > rank[old]]


def _falling_purchases(on: datetime.date) -> list[Event]:
    percent = int(policy.get("engagement.purchase_drop_percent", on=on))
    rows = (Classification.objects.filter(amount_prev_12_fen__gt=0).alias(scaled=F("amount_12_fen") * 100)
            .filter(scaled__lte=F("amount_prev_12_fen") * (100 - percent))
            .values_list("institution_id", "amount_12_fen", "amount_prev_12_fen", "as_of"))
    return [Event(pk, f"purchases:{as_of:%Y-%m}", VisitKind.PROBLEM, _(
        "Purchases fell %(drop)d%% over the last 12 months") % {"drop": round(100 * (1 - now / before))})
        for pk, now, before, as_of in rows]


def _expiring_licences(on: datetime.date) -> list[Event]:
    days = int(policy.get("engagement.licence_visit_days", on=on))
    licences = (Licence.objects.filter(valid_to__gte=on, valid_to__lte=on + datetime.timedelta(days=days))
                .values_list("institution_id", "pk", "kind", "valid_to"))
    from pharmacrm.customers.choices import LicenceKind

    labels = dict(LicenceKind.choices)
    return [Event(pk, f"licence:{licence}:{valid_to:%Y%m%d}", VisitKind.IMPORTANT, _(
        "%(licence)s ends on %(date)s: renew it") % {"licence": labels.get(kind, kind), "date": valid_to})
        for pk, licence, kind, valid_to in licences]


def _new_customers(on: datetime.date) -> list[Event]:
    since = datetime.datetime.combine(on - datetime.timedelta(days=NEW_CUSTOMER_DAYS), datetime.time.min,
                                      tzinfo=policy.CHINA)
    fresh = (Institution.objects.live().filter(review_status=ReviewStatus.APPROVED, created_at__gte=since)
             .exclude(pk__in=Visit.objects.values("institution_id")).values_list("pk", flat=True))
    return [Event(pk, "new", VisitKind.NEW, _("New customer: first visit")) for pk in fresh]


def raise_special_visits(on: datetime.date | None = None) -> int:
    """Plan a visit for every event not yet answered by one; returns how many were planned."""
    on = on or policy.today()
    return raise_for([*_grade_drops(on), *_falling_purchases(on), *_expiring_licences(on), *_new_customers(on)], on)


def raise_for(found: list[Event], on: datetime.date | None = None, *, actor: Any = None) -> int:
    """Plan a visit for each of these events not yet answered by one (the job's, or one the service desk
    raises when a complaint is logged); returns how many were planned. ``actor``: the user whose action raised
    them (a complaint logged), to whom the audit trail attributes them; None for the job."""
    on = on or policy.today()
    events = {(event.institution_id, event.trigger): event for event in found}
    if not events:
        return 0
    ids = sorted({pk for pk, _trigger in events})
    owners: dict[int, int] = {}
    existing: set[tuple[int, str]] = set()
    for start in range(0, len(ids), 5000):  # bounded IN-lists
        chunk = ids[start:start + 5000]
        owners.update(Institution.objects.live().filter(pk__in=chunk, owner__is_active=True)
                      .values_list("pk", "owner_id"))
        existing.update(Visit.objects.filter(institution_id__in=chunk).exclude(trigger="")
                        .values_list("institution_id", "trigger"))
    lead = int(policy.get("engagement.special_visit_lead_days", on=on))
    planned_for = datetime.datetime.combine(on + datetime.timedelta(days=lead), datetime.time(PLANNED_HOUR),
                                            tzinfo=policy.CHINA)
    visits = [Visit(institution_id=event.institution_id, rep_id=owners[event.institution_id], kind=event.kind,
                    planned_for=planned_for, goal=event.reason[:300], reason=event.reason[:300],
                    trigger=event.trigger)
              for key, event in sorted(events.items()) if key not in existing and event.institution_id in owners]
    audited_bulk_create(Visit, visits, actor=actor, reason=_("Special visit raised by an event"))
    counts = Counter(visit.rep_id for visit in visits)
    for rep in User.objects.filter(pk__in=list(counts)):
        count = counts[rep.pk]
        notify(rep, ngettext("%(count)d special visit planned for you", "%(count)d special visits planned for you",
                             count) % {"count": count},
               body=_("Raised by grade drops, falling purchases, expiring licences, new customers or complaints."),
               url=f"{reverse('engagement:visit_list')}?kind=&status=planned")
    return len(visits)
