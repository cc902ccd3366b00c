"""The care calendar (seed 000 五.1 客户关怀, seed 003 四.2): contacts' birthdays — solar, or lunar and then on a
different solar day every year — Chinese festivals and anniversaries of cooperation, with reminders to the rep
``engagement.care_reminder_days`` ahead.

Care is a non-monetary greeting (DESIGN.md anti-bribery rules): anything of value goes through the gift ledger,
never through here. Birthdays are personal data (PIPL): only users who may read contacts' personal data see them,
and only the month and day.

Lunar dates come from ``lunar_python``: a lunar birthday is kept as a date whose month and day are the lunar
month and day; each year it falls on the solar day of that lunar month and day (the 30th of a month that has
only 29 days that year falls on its 29th; a birthday in a leap month is kept in the ordinary month).
"""

from __future__ import annotations

import datetime
import functools
import operator
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from lunar_python import Lunar, LunarYear, Solar

from pharmacrm.core import policy
from pharmacrm.core.notifications import notify
from pharmacrm.customers.choices import BirthdayCalendar, ConsentChannel, ConsentPurpose
from pharmacrm.customers.models import Consent, Contact, Institution
from pharmacrm.org.models import User
from pharmacrm.org.roles import Role

#: (key, month, day, name): festivals on a fixed solar day
SOLAR_FESTIVALS = (("new_year", 1, 1, gettext_lazy("New Year's Day")), ("nurses_day", 5, 12, gettext_lazy("Nurses' Day")),
                   ("doctors_day", 8, 19, gettext_lazy("Chinese Physicians' Day")),
                   ("national_day", 10, 1, gettext_lazy("National Day")))
#: (key, lunar month, lunar day, name): festivals of the lunar calendar
LUNAR_FESTIVALS = (("spring_festival", 1, 1, gettext_lazy("Spring Festival")),
                   ("dragon_boat", 5, 5, gettext_lazy("Dragon Boat Festival")),
                   ("mid_autumn", 8, 15, gettext_lazy("Mid-Autumn Festival")))


#: windows up to this long are narrowed in the database, one condition per day
MAX_WINDOW_DAYS = 62


@dataclass
class Occasion:
    on: datetime.date
    kind: str  # birthday, festival, anniversary
    title: str
    contact: Any = None
    institution: Any = None
    greet_channels: list[str] = field(default_factory=list)

    @property
    def greet_labels(self) -> list[str]:
        labels = dict(ConsentChannel.choices)
        return [str(labels.get(channel, channel)) for channel in self.greet_channels]


@functools.lru_cache(maxsize=8192)  # the library computes a lunar year astronomically (~13 ms): once per process
def lunar_to_solar(year: int, month: int, day: int) -> datetime.date | None:
    """The solar date of lunar ``year``-``month``-``day`` (ordinary month; the 30th of a 29-day month is its 29th);
    None outside the calendar's range."""
    if not 1 <= year <= 9998:
        return None
    try:
        days = LunarYear.fromYear(year).getMonth(month).getDayCount()
        solar = Lunar.fromYmd(year, month, min(day, days)).getSolar()
        return datetime.date(solar.getYear(), solar.getMonth(), solar.getDay())
    except Exception:  # noqa: BLE001 - the library raises bare Exceptions for years and days it does not know
        return None


def solar_day(year: int, month: int, day: int) -> datetime.date:
    """``month``-``day`` in ``year``; 29 February is the 28th in a common year."""
    try:
        return datetime.date(year, month, day)
    except ValueError:
        return datetime.date(year, month, 28)


def occurrences(month: int, day: int, calendar: str, start: datetime.date, end: datetime.date) -> list[datetime.date]:
    """The days from ``start`` to ``end`` (inclusive) on which a yearly date of ``calendar`` falls."""
    found = []
    for year in range(start.year - 1, end.year + 1):  # a lunar year's last months fall in the next solar year
        on = lunar_to_solar(year, month, day) if calendar == BirthdayCalendar.LUNAR else solar_day(year, month, day)
        if on is not None and start <= on <= end:
            found.append(on)
    return found


def festivals(start: datetime.date, end: datetime.date) -> list[Occasion]:
    found = [Occasion(on, "festival", str(name)) for _key, month, day, name in SOLAR_FESTIVALS
             for on in occurrences(month, day, BirthdayCalendar.SOLAR, start, end)]
    found += [Occasion(on, "festival", str(name)) for _key, month, day, name in LUNAR_FESTIVALS
              for on in occurrences(month, day, BirthdayCalendar.LUNAR, start, end)]
    return found


def greeting_channels(contact_ids: Iterable[int], on: datetime.date) -> dict[int, list[str]]:
    """The channels each contact consented to greetings on (purpose *care*, granted by ``on``, not withdrawn)."""
    channels: dict[int, list[str]] = defaultdict(list)
    for contact_id, channel in (Consent.objects.filter(contact_id__in=list(contact_ids), purpose=ConsentPurpose.CARE,
                                                       granted_on__lte=on)
                                .filter(Q(withdrawn_on__isnull=True) | Q(withdrawn_on__gt=on))
                                .values_list("contact_id", "channel")):
        channels[contact_id].append(channel)
    return channels


def _days(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    return [start + datetime.timedelta(days=n) for n in range((end - start).days + 1)]


def birthdays(contacts: QuerySet, start: datetime.date, end: datetime.date) -> list[Occasion]:
    """The birthdays from ``start`` to ``end``: the database picks the contacts whose solar or lunar month and day
    fall in the window (one condition per day), so only those are read."""
    days = _days(start, end)
    if len(days) <= MAX_WINDOW_DAYS:
        contacts = contacts.filter(functools.reduce(operator.or_, (birthday_condition(day) for day in days)))
    found = []
    for contact in contacts.filter(birthday__isnull=False).select_related("institution"):
        for on in occurrences(contact.birthday.month, contact.birthday.day, contact.birthday_calendar, start, end):
            title = (_("Birthday of %(name)s (lunar %(month)d-%(day)d)") % {
                "name": contact.name, "month": contact.birthday.month, "day": contact.birthday.day}
                if contact.birthday_calendar == BirthdayCalendar.LUNAR else _("Birthday of %(name)s") % {
                "name": contact.name})
            found.append(Occasion(on, "birthday", title, contact=contact, institution=contact.institution))
    channels = greeting_channels([occasion.contact.pk for occasion in found], start)
    for occasion in found:
        occasion.greet_channels = channels.get(occasion.contact.pk, [])
    return found


def anniversaries(institutions: QuerySet, start: datetime.date, end: datetime.date) -> list[Occasion]:
    days = _days(start, end)
    if len(days) <= MAX_WINDOW_DAYS:
        institutions = institutions.filter(functools.reduce(operator.or_, (
            Q(first_cooperation_date__month=day.month, first_cooperation_date__day=day.day) for day in days)))
    found = []
    for institution in institutions.filter(first_cooperation_date__isnull=False):
        began = institution.first_cooperation_date
        for on in occurrences(began.month, began.day, BirthdayCalendar.SOLAR, start, end):
            if on.year > began.year:
                found.append(Occasion(on, "anniversary", _("%(years)d years of cooperation with %(name)s") % {
                    "years": on.year - began.year, "name": institution.name}, institution=institution))
    return found


def calendar_for(user: Any, start: datetime.date, end: datetime.date) -> list[Occasion]:
    """What the user's book calls for between ``start`` and ``end``: festivals, their contacts' birthdays (when
    they may read personal data), anniversaries of their customers."""
    from pharmacrm.engagement.cadence import book_of

    book = book_of(user)
    found = festivals(start, end) + anniversaries(book, start, end)
    if user.has_perm("customers.view_contact_personal_data"):
        contacts = Contact.objects.visible_to(user).filter(institution__in=book.values("pk"))
        found += birthdays(contacts, start, end)
    return sorted(found, key=lambda occasion: (occasion.on, occasion.kind, occasion.title))


# --- reminders ---------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8192)
def _lunar_of(day: datetime.date) -> tuple[int, int, bool]:
    lunar = Solar.fromYmd(day.year, day.month, day.day).getLunar()
    month = lunar.getMonth()
    return abs(month), lunar.getDay(), month < 0


def birthday_condition(day: datetime.date) -> Q:
    """Contacts whose birthday, solar or lunar, falls on ``day``."""
    condition = Q(birthday_calendar=BirthdayCalendar.SOLAR, birthday__month=day.month, birthday__day=day.day)
    if day.month == 2 and day.day == 28 and not _is_leap(day.year):
        condition |= Q(birthday_calendar=BirthdayCalendar.SOLAR, birthday__month=2, birthday__day=29)
    month, lunar_day, leap = _lunar_of(day)
    if not leap:
        days = [lunar_day]
        if lunar_day == 29 and _lunar_month_days(_lunar_year(day), month) == 29:
            days.append(30)  # the 30th, in a year whose month has 29 days
        condition |= Q(birthday_calendar=BirthdayCalendar.LUNAR, birthday__month=month, birthday__day__in=days)
    return condition


def birthdays_on(day: datetime.date) -> QuerySet:
    """Every contact whose birthday (solar or lunar) falls on ``day``: one query, whatever the number of contacts."""
    return Contact.objects.filter(birthday__isnull=False).filter(birthday_condition(day))


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


@functools.lru_cache(maxsize=8192)
def _lunar_year(day: datetime.date) -> int:
    return Solar.fromYmd(day.year, day.month, day.day).getLunar().getYear()


@functools.lru_cache(maxsize=2048)
def _lunar_month_days(year: int, month: int) -> int:
    return LunarYear.fromYear(year).getMonth(month).getDayCount()


def send_reminders(on: datetime.date | None = None) -> int:
    """Tell each rep of the birthdays of their customers' contacts, the festivals and the anniversaries
    ``engagement.care_reminder_days`` ahead: one message per rep; returns how many were sent."""
    on = on or policy.today()
    target = on + datetime.timedelta(days=int(policy.get("engagement.care_reminder_days", on=on)))
    lines: dict[int, list[str]] = defaultdict(list)
    for name, owner, academic in birthdays_on(target).values_list("name", "institution__owner_id",
                                                                   "institution__academic_owner_id"):
        for rep in {owner, academic} - {None}:
            lines[rep].append(_("Birthday of %(name)s") % {"name": name})
    for institution in Institution.objects.live().filter(first_cooperation_date__month=target.month,
                                                         first_cooperation_date__day=target.day,
                                                         first_cooperation_date__year__lt=target.year):
        for rep in {institution.owner_id, institution.academic_owner_id} - {None}:
            lines[rep].append(_("%(years)d years of cooperation with %(name)s") % {
                "years": target.year - institution.first_cooperation_date.year, "name": institution.name})
    holidays = [occasion.title for occasion in festivals(target, target)]
    who = Q(pk__in=list(lines))
    if holidays:  # every field rep greets their contacts on a festival
        who |= Q(role__in=[Role.REP, Role.ACADEMIC_REP, Role.KEY_ACCOUNT])
    reps = User.objects.filter(is_active=True).filter(who).order_by("pk")
    sent = 0
    for rep in reps:
        items = holidays + lines.get(rep.pk, [])
        if not items:
            continue
        notify(rep, _("On %(date)s: %(items)s") % {"date": target.strftime("%m-%d"), "items": "、".join(items[:5])},
               body="\n".join(items) + "\n" + _("A greeting is a message, not a gift: anything of value goes "
                                               "through the gift ledger."),
               url=f"{reverse('engagement:care')}?start={target.isoformat()}")
        sent += 1
    return sent


# --- greetings ---------------------------------------------------------------------------------------------------


def save_template(*, actor: Any, title: str, text: str, occasion: str, template: Any = None,
                  expected_version: int | None = None) -> Any:
    """Marketing writes a template; a changed text needs approval again."""
    from pharmacrm.core.audit import audited_create, audited_update
    from pharmacrm.engagement.models import GreetingTemplate
    from pharmacrm.org.scope import authorize

    authorize(actor, "engagement.add_greetingtemplate" if template is None else "engagement.change_greetingtemplate")
    values = {"title": (title or "").strip(), "text": (text or "").strip(), "occasion": occasion}
    if template is None:
        return audited_create(GreetingTemplate, actor=actor, **values)
    if values["text"] != template.text:
        values.update(approved_by=None, approved_at=None)
    return audited_update(template, actor=actor, changes=values, expected_version=expected_version)


def approve_template(*, actor: Any, template: Any, expected_version: int | None = None) -> Any:
    """Compliance approves a template: a message, no offer of anything of value. ``expected_version`` is the version
    compliance read: a text changed since is not approved unseen (stale → refused, nothing written)."""
    from django.utils import timezone

    from pharmacrm.core.audit import audited_update
    from pharmacrm.org.scope import authorize

    authorize(actor, "engagement.approve_greetingtemplate")
    return audited_update(template, actor=actor, changes={"approved_by": actor, "approved_at": timezone.now()},
                          expected_version=expected_version)


@dataclass
class Sent:
    greeted: list[Any]
    skipped: list[tuple[Any, str]]


def send_greetings(*, actor: Any, template: Any, contacts: Iterable[Any], channel: str) -> Sent:
    """Record a greeting to each contact who consented to greetings on ``channel`` (purpose *care*); the others are
    skipped, each with the reason. Only approved templates; only contacts the actor may see."""
    from django.core.exceptions import ValidationError
    from django.db import transaction
    from django.utils import timezone

    from pharmacrm.core.audit import audited_create
    from pharmacrm.engagement.models import Greeting
    from pharmacrm.org.scope import authorize

    authorize(actor, "engagement.add_greeting")
    if template is None or template.approved_at is None:
        raise ValidationError({"template": _("Choose a template compliance has approved.")})
    if channel not in ConsentChannel.values:
        raise ValidationError({"channel": _("Choose one of the channels.")})
    contacts = list(contacts)
    visible = set(Contact.objects.visible_to(actor).filter(pk__in=[c.pk for c in contacts]).values_list("pk", flat=True))
    now = timezone.now()
    consented = greeting_channels(visible, timezone.localtime(now, policy.CHINA).date())
    sent = Sent([], [])
    with transaction.atomic():
        for contact in contacts:
            if contact.pk not in visible:
                sent.skipped.append((contact, _("not found")))
            elif channel not in consented.get(contact.pk, []):
                sent.skipped.append((contact, _("no consent to greetings on this channel")))
            else:
                sent.greeted.append(audited_create(Greeting, actor=actor, contact=contact, template=template,
                                                   channel=channel, text=template.text.replace("{name}", contact.name),
                                                   sent_at=now, by=actor))
    return sent
