from django.urls import path

from pharmacrm.content import views

app_name = "content"

urlpatterns = [
    path("", views.home, name="home"),
    path("items/new/", views.item_create, name="item_create"),
    path("items/<int:pk>/", views.ItemDetailView.as_view(), name="item_detail"),
    path("items/<int:pk>/edit/", views.item_edit, name="item_edit"),
    path("items/<int:pk>/approve/", views.item_approve, name="item_approve"),
    path("schedules/new/", views.schedule_create, name="schedule_create"),
    path("schedules/<int:pk>/edit/", views.schedule_edit, name="schedule_edit"),
    path("pushes/new/", views.push_create, name="push_create"),
    path("pushes/<int:pk>/", views.PushDetailView.as_view(), name="push_detail"),
    path("deliveries/", views.DeliveryListView.as_view(), name="delivery_list"),
]
