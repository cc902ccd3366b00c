from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GradingConfig(AppConfig):
    name = "pharmacrm.grading"
    label = "grading"
    verbose_name = _("Classification and grading")

    def ready(self) -> None:
        from pharmacrm.grading import services

        services.register_approval()
