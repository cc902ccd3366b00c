from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "pharmacrm.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from pharmacrm.core import checks, tasks  # noqa: F401  (system checks, periodic jobs)
