"""Choices of content pushes (seed 002 四.(二) 长期关系的温度管理)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from pharmacrm.customers.choices import ConsentChannel


class ContentKind(models.TextChoices):
    """What seed 002 asks to share: a paper with a short reading (weekly), a policy's impact (monthly), an
    industry trend (potential customers, every two months)."""

    LITERATURE = "literature", _("Literature with a short interpretation")
    POLICY = "policy", _("Policy analysis")
    TREND = "trend", _("Industry trend")


#: the channels content goes out on are the channels a contact consents on (PIPL: person × channel × purpose)
PUSH_CHANNELS = ConsentChannel.choices


class SkipReason(models.TextChoices):
    """Why a contact of the segment did not receive a push."""

    ALREADY = "already", _("Already received this item")
    WITHDRAWN = "withdrawn", _("Consent withdrawn")
    NO_CONSENT = "no_consent", _("No consent to academic information on this channel")
