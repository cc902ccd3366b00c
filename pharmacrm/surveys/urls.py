from django.urls import path

from pharmacrm.surveys import views

app_name = "surveys"

urlpatterns = [
    path("", views.home, name="home"),
    path("campaigns/", views.CampaignListView.as_view(), name="campaign_list"),
    path("campaigns/new/", views.campaign_create, name="campaign_create"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign_detail"),
    path("campaigns/<int:pk>/edit/", views.campaign_edit, name="campaign_edit"),
    path("campaigns/<int:pk>/launch/", views.campaign_launch, name="campaign_launch"),
    path("campaigns/<int:pk>/close/", views.campaign_close, name="campaign_close"),
    path("question-sets/", views.question_sets, name="questionset_list"),
    path("question-sets/new/", views.question_set_create, name="questionset_create"),
    path("invitations/", views.InvitationListView.as_view(), name="invitation_list"),
    path("invitations/<int:pk>/link/", views.invitation_link, name="invitation_link"),
    path("responses/", views.ResponseListView.as_view(), name="response_list"),
]
