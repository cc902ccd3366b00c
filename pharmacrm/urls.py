from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from pharmacrm.core.views import favicon, healthz
from pharmacrm.surveys.public_views import survey_page

urlpatterns = [
    path("", include("pharmacrm.core.urls")),
    path("", include("pharmacrm.org.urls")),
    path("customers/", include("pharmacrm.customers.urls")),
    path("sales/", include("pharmacrm.sales.urls")),
    path("samples/", include("pharmacrm.samples.urls")),
    path("grading/", include("pharmacrm.grading.urls")),
    path("engagement/", include("pharmacrm.engagement.urls")),
    path("content/", include("pharmacrm.content.urls")),
    path("service/", include("pharmacrm.service.urls")),
    path("surveys/", include("pharmacrm.surveys.urls")),
    path("privacy/", include("pharmacrm.privacy.urls")),
    # the public survey page: outside the API, no sign-in (the link's secret is the key)
    path("s/<str:token>/", survey_page, name="survey_public"),
    path("imports/", include("pharmacrm.core.import_urls")),
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    path("api/v1/", include("pharmacrm.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
