from django.urls import path

from pharmacrm.core import views

app_name = "core"

urlpatterns = [
    path("", views.home, name="home"),
    path("notifications/", views.NotificationListView.as_view(), name="notification_list"),
    path("notifications/read/", views.notification_mark_read, name="notification_mark_read"),
    path("notifications/<int:pk>/", views.notification_open, name="notification_open"),
    path("files/<int:pk>/", views.file_download, name="file_download"),
    path("files/upload/<int:content_type_id>/<str:object_id>/", views.file_upload, name="file_upload"),
    path("history/<int:content_type_id>/<str:object_id>/", views.history, name="history"),
    path("audit/", views.AuditListView.as_view(), name="audit_list"),
    path("audit/export/", views.audit_export, name="audit_export"),
]
