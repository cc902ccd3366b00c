from django.urls import path

from pharmacrm.service import views
from pharmacrm.service.analysis_views import urlpatterns as analysis_urlpatterns

app_name = "service"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("breaches/", views.breaches, name="breaches"),
    path("rules/", views.rules, name="rules"),
    path("cases/", views.CaseListView.as_view(), name="case_list"),
    path("cases/new/", views.case_create, name="case_create"),
    path("cases/<int:pk>/", views.case_detail, name="case_detail"),
    path("cases/<int:pk>/note/", views.case_note, name="case_note"),
    path("cases/<int:pk>/respond/", views.case_respond, name="case_respond"),
    path("cases/<int:pk>/move/", views.case_move, name="case_move"),
    path("cases/<int:pk>/wait/", views.case_wait, name="case_wait"),
    path("cases/<int:pk>/reassign/", views.case_reassign, name="case_reassign"),
    path("cases/<int:pk>/pv/", views.case_pv, name="case_pv"),
    path("cases/<int:pk>/pv-report/", views.case_pv_report, name="case_pv_report"),
    path("cases/<int:pk>/sign/", views.case_sign, name="case_sign"),
    path("cases/<int:pk>/void/", views.case_void, name="case_void"),
    path("cases/<int:pk>/archive/", views.case_archive, name="case_archive"),
    *analysis_urlpatterns,
]
