from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "pharmacrm.sales"
    label = "sales"
    verbose_name = _("Sales")

    def ready(self) -> None:
        from pharmacrm.sales import flow, timeline  # noqa: F401  (the flow importer; order events on the timeline)
