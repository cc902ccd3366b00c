from django.urls import path

from pharmacrm.engagement import plan_views, views

app_name = "engagement"

urlpatterns = [
    path("", views.today, name="today"),
    path("cadence/", views.cadence_page, name="cadence"),
    path("calendar/", views.calendar_page, name="calendar"),
    path("care/", views.care_page, name="care"),
    path("care/greet/", views.greet, name="greet"),
    path("care/templates/", views.greeting_templates, name="greeting_templates"),
    path("calendar/feed/<str:token>.ics", views.calendar_feed, name="calendar_feed"),
    path("plans/", plan_views.PlanListView.as_view(), name="plan_list"),
    path("plans/new/", plan_views.plan_create, name="plan_create"),
    path("plans/<int:pk>/", plan_views.plan_detail, name="plan_detail"),
    path("visits/", views.VisitListView.as_view(), name="visit_list"),
    path("visits/new/", views.visit_create, name="visit_create"),
    path("visits/<int:pk>/", views.VisitDetailView.as_view(), name="visit_detail"),
    path("visits/<int:pk>/check-in/", views.visit_check_in, name="visit_check_in"),
    path("visits/<int:pk>/check-out/", views.visit_check_out, name="visit_check_out"),
    path("visits/<int:pk>/report/", views.visit_report, name="visit_report"),
    path("visits/<int:pk>/review/", views.visit_review, name="visit_review"),
    path("visits/<int:pk>/amend/", views.visit_amend, name="visit_amend"),
    path("visits/<int:pk>/cancel/", views.visit_cancel, name="visit_cancel"),
    path("communications/", views.CommunicationListView.as_view(), name="communication_list"),
    path("communications/new/", views.communication_create, name="communication_create"),
    path("communications/<int:pk>/", views.CommunicationDetailView.as_view(), name="communication_detail"),
    path("follow-ups/", views.FollowUpListView.as_view(), name="followup_list"),
    path("follow-ups/new/", views.followup_create, name="followup_create"),
    path("follow-ups/<int:pk>/", views.FollowUpDetailView.as_view(), name="followup_detail"),
    path("follow-ups/<int:pk>/close/", views.followup_close, name="followup_close"),
    path("flagged/", views.FlaggedListView.as_view(), name="flagged_list"),
]
