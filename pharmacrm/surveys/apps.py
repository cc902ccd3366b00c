from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveysConfig(AppConfig):
    name = "pharmacrm.surveys"
    label = "surveys"
    verbose_name = _("Satisfaction surveys")

    def ready(self) -> None:
        from pharmacrm.service.signals import case_closed
        from pharmacrm.surveys import policies  # noqa: F401  (policy parameters)
        from pharmacrm.surveys.services import invite_after_case

        # the one subscriber of the service desk's hook: a closed case invites its contact to a survey
        case_closed.connect(invite_after_case, dispatch_uid="surveys.invite_after_case")
