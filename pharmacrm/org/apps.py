from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgConfig(AppConfig):
    name = "pharmacrm.org"
    label = "org"
    verbose_name = _("Organisation")

    def ready(self) -> None:
        from pharmacrm.org import approvals as _org_approvals  # noqa: F401  (approval outcomes → account requests)
        from pharmacrm.org import handlers  # noqa: F401  (auth events → audit trail; role sync after migrate)
