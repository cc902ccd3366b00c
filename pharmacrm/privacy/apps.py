from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    name = "pharmacrm.privacy"
    label = "privacy"
    verbose_name = _("Personal-information protection")

    def ready(self) -> None:
        from pharmacrm.core.approvals import register_handler
        from pharmacrm.privacy import policy, services, tasks  # noqa: F401  (policy parameters, periodic jobs)

        register_handler(services.BULK_EXPORT_APPROVAL, services.export_approved, services.export_rejected)
