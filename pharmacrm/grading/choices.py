"""The dimensions customers are classified on and the classes of each (seeds 000 二.3, 002 一, 003 二, 001 三.1)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from pharmacrm.customers.choices import InstitutionKind


class Dimension(models.TextChoices):
    SIZE = "size", _("Size")
    TENURE = "tenure", _("Tenure")
    DEPTH = "depth", _("Cooperation depth")
    GRADE = "grade", _("Grade")
    KEY_ACCOUNT = "key_account", _("Key-account score")


class SizeClass(models.TextChoices):
    LARGE = "large", _("Large")
    MEDIUM = "medium", _("Medium")
    SMALL = "small", _("Small")


class TenureClass(models.TextChoices):
    LONG = "long", _("Long-term")
    MEDIUM = "medium", _("Medium-term")
    SHORT = "short", _("Short-term")
    NONE = "none", _("Not cooperating yet")


class DepthClass(models.TextChoices):
    CORE = "core", _("Core")
    POTENTIAL = "potential", _("Potential")
    TO_DEVELOP = "to_develop", _("To develop")
    UNKNOWN = "unknown", _("Buying, share unknown")


class Grade(models.TextChoices):
    PREMIUM = "premium", _("Premium")  # 优质
    GENERAL = "general", _("General")  # 一般
    POTENTIAL = "potential", _("Prospective")  # 潜在


class Credit(models.TextChoices):
    WITHIN = "A", _("Within credit limit")
    NO_CREDIT = "B", _("No credit line (pays first)")
    OVER = "C", _("Over credit limit")


#: the classes each classified dimension takes, in order from best to weakest
CLASSES: dict[str, type[models.TextChoices]] = {
    Dimension.SIZE: SizeClass, Dimension.TENURE: TenureClass, Dimension.DEPTH: DepthClass, Dimension.GRADE: Grade,
}


class StrategyDimension(models.TextChoices):
    """What a strategy is written for: a computed class, or the customer's type from the master (seed 003 二
    按行业分类: for us hospitals, pharmacies, distributors …)."""

    SIZE = "size", _("Size")
    TENURE = "tenure", _("Tenure")
    DEPTH = "depth", _("Cooperation depth")
    GRADE = "grade", _("Grade")
    CUSTOMER_TYPE = "customer_type", _("Customer type")


def class_label(dimension: str, value: str) -> str:
    """The display name of a class of ``dimension`` (the key-account "class" is being a candidate or not)."""
    if dimension == Dimension.KEY_ACCOUNT:
        return str(_("Candidate") if value else _("Not a candidate"))
    choices = InstitutionKind if dimension == StrategyDimension.CUSTOMER_TYPE else CLASSES.get(dimension)
    return str(choices(value).label) if choices and value in choices.values else value


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING = "pending", _("Awaiting approval")
    PUBLISHED = "published", _("Published")
    REJECTED = "rejected", _("Rejected")


class RunKind(models.TextChoices):
    NIGHTLY = "nightly", _("Nightly")
    ON_DEMAND = "on_demand", _("On demand")


class RunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ChangeReason(models.TextChoices):
    DATA = "data", _("Purchases, tenure or credit changed")
    RULES = "rules", _("Rules changed")
