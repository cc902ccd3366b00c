from django.urls import path

from pharmacrm.core import import_views

app_name = "imports"

urlpatterns = [
    path("", import_views.ImportListView.as_view(), name="list"),
    path("new/", import_views.import_new, name="new"),
    path("template/<str:kind>/", import_views.import_template, name="template"),
    path("<int:pk>/", import_views.import_detail, name="detail"),
    path("<int:pk>/check/", import_views.import_configure, name="configure"),
    path("<int:pk>/import/", import_views.import_commit, name="commit"),
    path("<int:pk>/cancel/", import_views.import_cancel, name="cancel"),
]
