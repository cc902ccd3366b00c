from django.urls import path

from pharmacrm.core import approval_views, saved_filter_views, settings_views, views

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
    # Saved filters of the list pages (the control sits under each list's filter bar).
    path("saved-filters/", saved_filter_views.saved_filter_create, name="savedfilter_create"),
    path("saved-filters/<int:pk>/delete/", saved_filter_views.saved_filter_delete, name="savedfilter_delete"),
    path("approvals/", approval_views.ApprovalListView.as_view(), name="approval_list"),
    path("approvals/<int:pk>/", approval_views.approval_detail, name="approval_detail"),
    path("approvals/<int:pk>/decide/", approval_views.approval_decide, name="approval_decide"),
    # Settings pages (admins): policy parameters and the working-day calendar table.
    path("settings/", settings_views.policy_list, name="policy_list"),
    path("settings/policy/<str:key>/", settings_views.policy_edit, name="policy_edit"),
    path("settings/calendar/", settings_views.CalendarDayListView.as_view(), name="calendarday_list"),
    path("settings/calendar/new/", settings_views.calendarday_create, name="calendarday_create"),
    path("settings/calendar/<int:pk>/", settings_views.calendarday_edit, name="calendarday_edit"),
    path("settings/calendar/<int:pk>/delete/", settings_views.calendarday_delete, name="calendarday_delete"),
]
