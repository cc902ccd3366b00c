from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EngagementConfig(AppConfig):
    name = "pharmacrm.engagement"
    label = "engagement"
    verbose_name = _("Engagement")

    def ready(self) -> None:
        from pharmacrm.engagement import policies, timeline  # noqa: F401  (policy parameters; customer timeline)
