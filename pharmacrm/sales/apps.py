from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "pharmacrm.sales"
    label = "sales"
    verbose_name = _("Sales")

    def ready(self) -> None:
        from pharmacrm.sales import timeline  # noqa: F401  (registers the order events on the customer timeline)
