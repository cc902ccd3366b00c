from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SamplesConfig(AppConfig):
    name = "pharmacrm.samples"
    label = "samples"
    verbose_name = _("Samples")

    def ready(self) -> None:
        from pharmacrm.samples import policies, timeline  # noqa: F401  (policy parameters; customer timeline)
