"""All API routes under /api/v1/: each app contributes its router registrations."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from pharmacrm.content.api.views import register as register_content
from pharmacrm.core.api.approvals import register as register_approvals
from pharmacrm.core.api.imports import register as register_imports
from pharmacrm.core.api.policy import register as register_policy
from pharmacrm.core.api.saved_filters import register as register_saved_filters
from pharmacrm.core.api.signatures import register as register_signatures
from pharmacrm.core.api.views import register as register_core
from pharmacrm.customers.api.views import register as register_customers
from pharmacrm.engagement.api.care import register as register_care
from pharmacrm.engagement.api.views import register as register_engagement
from pharmacrm.grading.api.views import register as register_grading
from pharmacrm.org.api.account_requests import register as register_account_requests
from pharmacrm.org.api.views import ObtainTokenView
from pharmacrm.org.api.views import register as register_org
from pharmacrm.privacy.api.views import register as register_privacy
from pharmacrm.sales.api.views import register as register_sales
from pharmacrm.samples.api.views import register as register_samples
from pharmacrm.service.api.views import register as register_service
from pharmacrm.surveys.api.views import register as register_surveys

router = DefaultRouter()
for register in (register_core, register_approvals, register_signatures, register_policy, register_saved_filters,
                 register_imports, register_org, register_account_requests, register_customers, register_sales):
    register(router)
register_samples(router)
register_grading(router)
register_engagement(router)
register_care(router)
register_service(router)
register_content(router)
register_surveys(router)
register_privacy(router)

urlpatterns = [
    path("auth/token/", ObtainTokenView.as_view(), name="api-token"),
    path("", include(router.urls)),
]
