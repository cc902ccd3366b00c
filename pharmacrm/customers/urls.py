from django.urls import path

from pharmacrm.customers import views

app_name = "customers"

urlpatterns = [
    path("institutions/", views.InstitutionListView.as_view(), name="institution_list"),
    path("institutions/new/", views.institution_create, name="institution_create"),
    path("institutions/<int:pk>/", views.InstitutionDetailView.as_view(), name="institution_detail"),
    path("institutions/<int:pk>/edit/", views.institution_edit, name="institution_edit"),
    path("institutions/<int:pk>/merge/", views.institution_merge, name="institution_merge"),
    path("institutions/<int:pk>/unmerge/", views.institution_unmerge, name="institution_unmerge"),
    path("institutions/<int:pk>/licences/new/", views.licence_add, name="licence_add"),
    path("institutions/<int:pk>/contacts/new/", views.contact_create, name="contact_create"),
    path("licences/", views.LicenceListView.as_view(), name="licence_list"),
    path("licences/<int:pk>/", views.LicenceDetailView.as_view(), name="licence_detail"),
    path("licences/<int:pk>/review/", views.licence_review, name="licence_review"),
    path("change-requests/", views.ChangeRequestListView.as_view(), name="changerequest_list"),
    path("change-requests/<int:pk>/", views.ChangeRequestDetailView.as_view(), name="changerequest_detail"),
    path("change-requests/<int:pk>/decide/", views.changerequest_decide, name="changerequest_decide"),
    path("contacts/", views.ContactListView.as_view(), name="contact_list"),
    path("contacts/<int:pk>/", views.ContactDetailView.as_view(), name="contact_detail"),
    path("contacts/<int:pk>/edit/", views.contact_edit, name="contact_edit"),
    path("contacts/<int:pk>/reveal/", views.contact_reveal, name="contact_reveal"),
    path("contacts/<int:pk>/consents/", views.consent_add, name="consent_add"),
    path("consents/<int:pk>/withdraw/", views.consent_withdraw, name="consent_withdraw"),
]
