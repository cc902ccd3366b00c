from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContentConfig(AppConfig):
    name = "pharmacrm.content"
    label = "content"
    verbose_name = _("Content pushes")

    def ready(self) -> None:
        from pharmacrm.content import timeline  # noqa: F401  (deliveries on the customer's and contact's timeline)
