"""Every write of content pushes, and the segment reads they rest on (seed 002 四.(二), 一.(二)).

A push reaches the contacts of a segment's customers who consented to academic and product information on the
push's channel (PIPL 第十四条: person × channel × purpose; a withdrawn consent stops pushes, DESIGN.md). It is
set-based: the recipients are one ``SELECT`` and the deliveries one ``INSERT … SELECT`` in the push's
transaction, whatever the segment's size.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Value
from django.utils import timezone
from django.utils.translation import gettext as _

from pharmacrm.content.choices import PUSH_CHANNELS, ContentKind
from pharmacrm.content.models import ContentDelivery, ContentItem, ContentPush, ContentSchedule
from pharmacrm.core import policy
from pharmacrm.core.audit import audited_create, audited_update
from pharmacrm.core.notifications import notify
from pharmacrm.core.querysets import allow_bulk_writes
from pharmacrm.customers.choices import ConsentPurpose, InstitutionKind, InstitutionStatus
from pharmacrm.customers.models import Affiliation, Consent, Contact, Institution
from pharmacrm.grading.choices import CLASSES, StrategyDimension
from pharmacrm.grading.models import Classification
from pharmacrm.org.models import User
from pharmacrm.org.roles import Role
from pharmacrm.org.scope import authorize

#: the fields a customer reads: changing any of them takes the approval away
CONTENT_FIELDS = ("kind", "title", "source", "source_url", "interpretation", "body", "attachment")


# --- segments ----------------------------------------------------------------------------------------------------


def class_choices(dimension: str) -> list[str]:
    """The classes a segment of ``dimension`` may name."""
    if dimension == StrategyDimension.CUSTOMER_TYPE:
        return list(InstitutionKind.values)
    choices = CLASSES.get(dimension)
    return list(choices.values) if choices else []


def check_segment(dimension: str, klass: str) -> None:
    if dimension not in StrategyDimension.values:
        raise ValidationError({"dimension": _("Choose one of the dimensions.")})
    if klass not in class_choices(dimension):
        raise ValidationError({"klass": _("Choose one of the classes of this dimension.")})


def segment_customers(dimension: str, klass: str) -> QuerySet:
    """The customers of a segment: live (not merged away), not terminated, of ``klass`` on ``dimension`` as the
    last grading run classified them (or of that type)."""
    customers = Institution.objects.live().exclude(status=InstitutionStatus.TERMINATED)
    if dimension == StrategyDimension.CUSTOMER_TYPE:
        return customers.filter(kind=klass)
    return customers.filter(pk__in=Classification.objects.filter(**{dimension: klass}).values("institution_id"))


def segment_contacts(dimension: str, klass: str, on: datetime.date) -> QuerySet:
    """The people of a segment's customers: contacts whose main institution is in it and who have not left it (a
    contact has left when their affiliations there have all ended)."""
    there = Affiliation.objects.filter(contact=OuterRef("pk"), institution=OuterRef("institution_id"))
    current = there.filter(Q(end_date__isnull=True) | Q(end_date__gte=on))
    return (Contact.objects.filter(institution__in=segment_customers(dimension, klass).values("pk"))
            .exclude(Exists(there) & ~Exists(current)).order_by())


def _consents(channel: str) -> QuerySet:
    return Consent.objects.filter(contact=OuterRef("pk"), purpose=ConsentPurpose.ACADEMIC, channel=channel)


def consented(channel: str, on: datetime.date) -> Exists:
    """The contact consented to academic and product information on ``channel``: granted by ``on``, not withdrawn
    by then (a withdrawal dated later is not in force yet)."""
    return Exists(_consents(channel).filter(granted_on__lte=on).filter(
        Q(withdrawn_on__isnull=True) | Q(withdrawn_on__gt=on)))


def withdrawn(channel: str, on: datetime.date) -> Exists:
    return Exists(_consents(channel).filter(withdrawn_on__lte=on))


def already_received(item: ContentItem | None) -> Exists:
    return Exists(ContentDelivery.objects.filter(item_id=item.pk if item else None, contact=OuterRef("pk")))


@dataclass(frozen=True)
class Preview:
    """Who of a segment a push would reach, and why the others would be skipped."""

    in_segment: int
    will_receive: int
    already: int
    withdrawn: int
    no_consent: int

    @property
    def skipped(self) -> int:
        return self.in_segment - self.will_receive


def resolve_target(*, item: ContentItem | None, schedule: ContentSchedule | None, dimension: str, klass: str,
                   channel: str) -> tuple[str, str, str]:
    """The segment and channel of a push: those given, or else the schedule's; checked."""
    if schedule is not None:
        dimension, klass, channel = dimension or schedule.dimension, klass or schedule.klass, channel or schedule.channel
        if item is not None and item.kind != schedule.kind:
            raise ValidationError({"item": _("This schedule pushes another kind of item.")})
    check_segment(dimension, klass)
    _check_channel(channel)
    return dimension, klass, channel


def preview_push(*, item: ContentItem | None, dimension: str = "", klass: str = "", channel: str = "",
                 schedule: ContentSchedule | None = None, on: datetime.date | None = None) -> Preview:
    """Count a push's recipients and skips in one query (no write). Only for approved items, like the push."""
    if item is not None and not item.approved:
        raise ValidationError({"item": _("Choose an item compliance has approved.")})
    dimension, klass, channel = resolve_target(item=item, schedule=schedule, dimension=dimension, klass=klass,
                                               channel=channel)
    on = on or policy.today()
    has, gone, got = consented(channel, on), withdrawn(channel, on), already_received(item)
    counts = segment_contacts(dimension, klass, on).aggregate(
        in_segment=Count("pk"), already=Count("pk", filter=got),
        will_receive=Count("pk", filter=~got & has),
        withdrawn=Count("pk", filter=~got & ~has & gone))
    return Preview(in_segment=counts["in_segment"], will_receive=counts["will_receive"], already=counts["already"],
                   withdrawn=counts["withdrawn"],
                   no_consent=counts["in_segment"] - counts["already"] - counts["will_receive"] - counts["withdrawn"])


def _check_channel(channel: str) -> None:
    if channel not in dict(PUSH_CHANNELS):
        raise ValidationError({"channel": _("Choose one of the channels.")})


# --- items -------------------------------------------------------------------------------------------------------


def save_item(*, actor: Any, item: ContentItem | None = None, kind: str, title: str, interpretation: str,
              source: str = "", source_url: str = "", body: str = "", attachment: UploadedFile | None = None,
              expected_version: int | None = None) -> ContentItem:
    """Marketing writes an item; compliance approves it before any push. Changing what a customer reads (text,
    source, attachment) takes the approval away. A paper must say where it was published."""
    from pharmacrm.core.uploads import store_upload

    authorize(actor, "content.add_contentitem" if item is None else "content.change_contentitem")
    values = {"kind": kind, "title": (title or "").strip(), "interpretation": (interpretation or "").strip(),
              "source": (source or "").strip(), "source_url": (source_url or "").strip(), "body": (body or "").strip()}
    if values["kind"] == ContentKind.LITERATURE and not values["source"]:
        raise ValidationError({"source": _("Cite the paper: journal, authors, year.")})
    with transaction.atomic():
        if item is None:
            item = audited_create(ContentItem, actor=actor, created_by=actor, **values)
            changed = True
        else:
            changed = any(getattr(item, name) != value for name, value in values.items())
            if changed:
                values.update(approved_by=None, approved_at=None)
            item = audited_update(item, actor=actor, changes=values, expected_version=expected_version)
        if attachment is not None:
            stored = store_upload(actor=actor, upload=attachment, attach_to=item)
            item = audited_update(item, actor=actor, changes={"attachment": stored, "approved_by": None,
                                                              "approved_at": None})
            changed = True
        if changed:
            _ask_for_approval(item)
    return item


def _ask_for_approval(item: ContentItem) -> None:
    """Tell compliance an item waits for them (a handful of people: one message each)."""
    for reviewer in User.objects.filter(role=Role.COMPLIANCE, is_active=True).order_by("pk")[:50]:
        notify(reviewer, _("Content to approve: %(title)s") % {"title": item.title}, url=item.get_absolute_url())


def approve_item(*, actor: Any, item: ContentItem, expected_version: int | None = None) -> ContentItem:
    """Compliance approves an item: accurate, cited, no overstated efficacy, nothing of value offered (seed 002
    三.(一) 禁止夸大疗效). Not the author's own. ``expected_version`` is the version compliance read: an item
    changed since is not approved unseen (stale → refused, nothing written)."""
    authorize(actor, "content.approve_contentitem")
    if item.approved:
        raise ValidationError({"item": _("This item is approved already.")})
    if item.created_by_id == getattr(actor, "pk", None):
        raise ValidationError({"item": _("Someone other than the author approves an item.")})
    return audited_update(item, actor=actor, changes={"approved_by": actor, "approved_at": timezone.now()},
                          expected_version=expected_version)


# --- schedules ---------------------------------------------------------------------------------------------------


def save_schedule(*, actor: Any, schedule: ContentSchedule | None = None, dimension: str, klass: str, kind: str,
                  every_days: int, channel: str, active: bool = True, note: str = "") -> ContentSchedule:
    """Marketing keeps the cadences: which class gets which kind of item every how many days, on which channel."""
    authorize(actor, "content.add_contentschedule" if schedule is None else "content.change_contentschedule")
    check_segment(dimension, klass)
    _check_channel(channel)
    values = {"dimension": dimension, "klass": klass, "kind": kind, "every_days": every_days, "channel": channel,
              "active": bool(active), "note": (note or "").strip()}
    clash = ContentSchedule.objects.filter(dimension=dimension, klass=klass, kind=kind)
    if schedule is not None:
        clash = clash.exclude(pk=schedule.pk)
    if clash.exists():
        raise ValidationError({"kind": _("This segment has a schedule for this kind of item already.")})
    if schedule is None:
        return audited_create(ContentSchedule, actor=actor, **values)
    return audited_update(schedule, actor=actor, changes=values)


@dataclass
class ScheduleStatus:
    schedule: ContentSchedule
    last_sent: datetime.datetime | None
    due: bool


def schedule_statuses(schedules: QuerySet, on: datetime.date | None = None) -> list[ScheduleStatus]:
    """Each schedule with its segment's last push of that kind; due when there was none within its days. One
    query (the last push is a subquery per schedule; schedules are a handful)."""
    from django.db.models import Subquery

    on = on or policy.today()
    last = (ContentPush.objects.filter(dimension=OuterRef("dimension"), klass=OuterRef("klass"),
                                       item__kind=OuterRef("kind")).order_by("-sent_at").values("sent_at")[:1])
    statuses = []
    for schedule in schedules.annotate(last_sent=Subquery(last)):
        last_sent = schedule.last_sent
        due = schedule.active and (last_sent is None or (
            on - timezone.localtime(last_sent, policy.CHINA).date()).days >= schedule.every_days)
        statuses.append(ScheduleStatus(schedule, last_sent, due))
    return statuses


# --- pushes ------------------------------------------------------------------------------------------------------


def send_push(*, actor: Any, item: ContentItem, channel: str = "", dimension: str = "", klass: str = "",
              schedule: ContentSchedule | None = None) -> ContentPush:
    """Send an approved item to a segment (a schedule's, or a class chosen for this push) on a channel.

    One transaction: the push, then its deliveries in one ``INSERT … SELECT`` — the segment's contacts with consent
    on the channel (purpose: academic and product information) who have not received the item yet. The skipped
    are counted by reason on the push. Nothing is written if anything fails.
    """
    authorize(actor, "content.add_contentpush")
    dimension, klass, channel = resolve_target(item=item, schedule=schedule, dimension=dimension, klass=klass,
                                               channel=channel)
    with transaction.atomic():
        # read again under a lock: an edit that took the approval away a moment ago wins
        item = ContentItem.objects.select_for_update().filter(pk=getattr(item, "pk", None)).first()
        if item is None or not item.approved:
            raise ValidationError({"item": _("Choose an item compliance has approved.")})
        now = timezone.now()
        on = timezone.localtime(now, policy.CHINA).date()
        counts = preview_push(item=item, dimension=dimension, klass=klass, channel=channel, on=on)
        push = audited_create(ContentPush, actor=actor, item=item, schedule=schedule, dimension=dimension,
                              klass=klass, channel=channel, sent_by=actor, sent_at=now, in_segment=counts.in_segment,
                              delivered=counts.will_receive, skipped_already=counts.already,
                              skipped_withdrawn=counts.withdrawn, skipped_no_consent=counts.no_consent)
        delivered = _insert_deliveries(push, on)
        if delivered != counts.will_receive:  # another push of the item reached some of them meanwhile
            push = audited_update(push, actor=actor, changes={
                "delivered": delivered, "skipped_already": counts.already + counts.will_receive - delivered})
    return push


def _insert_deliveries(push: ContentPush, on: datetime.date) -> int:
    """One ``INSERT … SELECT`` of the push's recipients; a contact who has the item already is left out by the
    select, and by the unique key should a concurrent push have reached them first."""
    recipients = (segment_contacts(push.dimension, push.klass, on)
                  .filter(consented(push.channel, on)).exclude(already_received(push.item))
                  .values_list(Value(push.pk), Value(push.item_id), "pk", "institution_id", Value(push.channel),
                               Value(push.sent_at)))
    select, params = recipients.query.sql_with_params()
    table = connection.ops.quote_name(ContentDelivery._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(ContentDelivery._meta.get_field(name).column)
                        for name in ("push", "item", "contact", "institution", "channel", "delivered_at"))
    # the select always has a WHERE clause, so SQLite parses the ON CONFLICT as the insert's (its upsert rule)
    with connection.cursor() as cursor, allow_bulk_writes():
        cursor.execute(f"INSERT INTO {table} ({columns}) {select} ON CONFLICT DO NOTHING", params)
        return cursor.rowcount
