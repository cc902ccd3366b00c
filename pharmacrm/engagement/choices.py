"""Choices of customer engagement (seed 000 三 客户拜访与沟通管理)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    """How a visit or a contact happened (seed 000 三.4: 电话、邮件、微信、面对面交流、会议)."""

    FACE_TO_FACE = "face_to_face", _("Face to face")
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("Email")
    WECHAT = "wechat", _("WeChat")
    ONLINE_MEETING = "online_meeting", _("Online meeting")
    MEETING = "meeting", _("Meeting")


#: channels a call report may use (a meeting is logged as a communication, filed by compliance later)
VISIT_CHANNELS = [choice for choice in Channel.choices if choice[0] != Channel.MEETING]


class VisitKind(models.TextChoices):
    """Routine visits come from the cadence; special ones (seed 000 三.1 专项拜访) from events."""

    ROUTINE = "routine", _("Routine")
    IMPORTANT = "important", _("Important customer")
    NEW = "new", _("New customer")
    POTENTIAL = "potential", _("Potential customer")
    PROBLEM = "problem", _("Problem customer")


class VisitStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    IN_PROGRESS = "in_progress", _("Checked in")
    SUBMITTED = "submitted", _("Submitted")
    REVIEWED = "reviewed", _("Reviewed")
    CANCELLED = "cancelled", _("Cancelled")


#: a report can still be written in these states; after them it is locked (changes are amendments)
OPEN_VISIT_STATUSES = (VisitStatus.PLANNED, VisitStatus.IN_PROGRESS)


class Direction(models.TextChoices):
    OUTBOUND = "outbound", _("We contacted them")
    INBOUND = "inbound", _("They contacted us")


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class Occasion(models.TextChoices):
    BIRTHDAY = "birthday", _("Birthday")
    FESTIVAL = "festival", _("Festival")
    ANNIVERSARY = "anniversary", _("Anniversary of cooperation")
    ANY = "any", _("Any occasion")


class PlanPeriod(models.TextChoices):
    """The span of a visit plan (seed 000 三.1 年度、季度、月度拜访计划)."""

    YEAR = "year", _("Annual")
    QUARTER = "quarter", _("Quarterly")
    MONTH = "month", _("Monthly")


class PlanStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Awaiting approval")
    APPROVED = "approved", _("Approved")
    RETURNED = "returned", _("Returned for changes")


#: a plan is edited by its rep in these states
EDITABLE_PLAN_STATUSES = (PlanStatus.DRAFT, PlanStatus.RETURNED)
