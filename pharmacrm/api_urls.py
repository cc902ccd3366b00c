"""All API routes under /api/v1/: each app contributes its router registrations."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from pharmacrm.core.api.views import register as register_core
from pharmacrm.customers.api.views import register as register_customers
from pharmacrm.org.api.views import ObtainTokenView
from pharmacrm.org.api.views import register as register_org

router = DefaultRouter()
for register in (register_core, register_org, register_customers):
    register(router)

urlpatterns = [
    path("auth/token/", ObtainTokenView.as_view(), name="api-token"),
    path("", include(router.urls)),
]
