from django.urls import path

from pharmacrm.customers import views

app_name = "customers"

urlpatterns = [
    path("institutions/", views.InstitutionListView.as_view(), name="institution_list"),
    path("institutions/<int:pk>/", views.InstitutionDetailView.as_view(), name="institution_detail"),
    path("institutions/<int:pk>/edit/", views.institution_edit, name="institution_edit"),
    path("contacts/", views.ContactListView.as_view(), name="contact_list"),
    path("contacts/<int:pk>/", views.ContactDetailView.as_view(), name="contact_detail"),
]
