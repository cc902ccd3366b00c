"""Choices of satisfaction surveys (seed 000 四.3 客户满意度调查, seed 003 四.4)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class QuestionKind(models.TextChoices):
    CSAT = "csat", _("Satisfaction, 1 (very dissatisfied) to 5 (very satisfied)")
    NPS = "nps", _("Likelihood to recommend, 0 to 10")
    TEXT = "text", _("Free text")


class Audience(models.TextChoices):
    """Who a campaign asks: everyone, the key-account candidates of the last grading, or one class of a grading
    dimension (as content pushes name their segments)."""

    ALL = "all", _("All customers")
    KEY_ACCOUNTS = "key_account", _("Key accounts")
    SIZE = "size", _("Size")
    TENURE = "tenure", _("Tenure")
    DEPTH = "depth", _("Cooperation depth")
    GRADE = "grade", _("Grade")
    CUSTOMER_TYPE = "customer_type", _("Customer type")


class SurveyChannel(models.TextChoices):
    """Channels a link can travel on; each needs the contact's consent to surveys on it (PIPL 第十四条)."""

    WECHAT = "wechat", _("WeChat")
    SMS = "sms", _("SMS")
    EMAIL = "email", _("Email")


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class SkipReason(models.TextChoices):
    NO_CONTACT = "no_contact", _("The case names no contact")
    NO_CONSENT = "no_consent", _("The contact has not consented to surveys")


class Breakdown(models.TextChoices):
    SEGMENT = "grade", _("Grade")
    REGION = "region", _("Province")
    PRODUCT = "product", _("Product")
