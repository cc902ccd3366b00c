from django.urls import path

from pharmacrm.grading import views

app_name = "grading"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("runs/new/", views.run_start, name="run_start"),
    path("institutions/<int:pk>/", views.institution_tab, name="institution_tab"),
    path("upgrades/", views.WatchListView.as_view(kind="upgrade"), name="upgrade_list"),
    path("downgrades/", views.WatchListView.as_view(kind="downgrade"), name="downgrade_list"),
    path("key-accounts/", views.WatchListView.as_view(kind="key_accounts"), name="key_account_list"),
    path("strategies/", views.strategy_list, name="strategy_list"),
    path("changes/", views.ChangeListView.as_view(), name="change_list"),
    path("rules/", views.RuleListView.as_view(), name="rule_list"),
    path("rules/new/<str:dimension>/", views.rule_create, name="rule_create"),
    path("rules/<int:pk>/", views.RuleDetailView.as_view(), name="rule_detail"),
    path("rules/<int:pk>/edit/", views.rule_edit, name="rule_edit"),
    path("rules/<int:pk>/preview/", views.rule_preview, name="rule_preview"),
    path("rules/<int:pk>/submit/", views.rule_submit, name="rule_submit"),
]
