from django.contrib.auth import views as auth_views
from django.urls import path

from pharmacrm.org import account_views, people_views, views

app_name = "org"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", auth_views.PasswordResetDoneView.as_view(
        template_name="org/password_reset_done.html"), name="password_reset_done"),
    path("password/reset/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("password/reset/complete/", auth_views.PasswordResetCompleteView.as_view(
        template_name="org/password_reset_complete.html"), name="password_reset_complete"),
    path("language/", views.switch_language, name="language"),
    path("2fa/", views.two_factor, name="two_factor"),
    path("org/", people_views.team_tree, name="team_tree"),
    path("org/users/", people_views.UserListView.as_view(), name="user_list"),
    path("org/users/<int:pk>/", people_views.UserDetailView.as_view(), name="user_detail"),
    path("org/users/<int:pk>/assignment/", people_views.user_assignment, name="user_assignment"),
    path("org/users/<int:pk>/active/", people_views.user_set_active, name="user_set_active"),
    path("accounts/requests/", account_views.AccountRequestListView.as_view(), name="accountrequest_list"),
    path("accounts/requests/new/", account_views.accountrequest_create, name="accountrequest_create"),
    path("accounts/requests/<int:pk>/", account_views.AccountRequestDetailView.as_view(), name="accountrequest_detail"),
]
