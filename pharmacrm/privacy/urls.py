from django.urls import path

from pharmacrm.privacy import views

app_name = "privacy"

urlpatterns = [
    path("requests/", views.SubjectRequestListView.as_view(), name="request_list"),
    path("requests/new/", views.request_create, name="request_create"),
    path("requests/<int:pk>/", views.SubjectRequestDetailView.as_view(), name="request_detail"),
    path("requests/<int:pk>/complete/", views.request_complete, name="request_complete"),
    path("access-log/", views.AccessLogView.as_view(), name="access_log"),
    path("exports/request/", views.export_request, name="export_request"),
    path("exports/<int:pk>/", views.BulkExportDetailView.as_view(), name="export_detail"),
]
