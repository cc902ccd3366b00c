from django.contrib.auth import views as auth_views
from django.urls import path

from pharmacrm.org import views

app_name = "org"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("language/", views.switch_language, name="language"),
    path("2fa/", views.two_factor, name="two_factor"),
]
