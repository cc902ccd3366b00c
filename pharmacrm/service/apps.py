from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServiceConfig(AppConfig):
    name = "pharmacrm.service"
    label = "service"
    verbose_name = _("Service desk")

    def ready(self) -> None:
        from pharmacrm.service import policies, timeline  # noqa: F401  (policy parameters; customer timeline)
