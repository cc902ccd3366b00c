"""Sign-in, sign-out, password change, language, and the TOTP second factor."""

from __future__ import annotations

import base64
from typing import Any

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from pharmacrm.core.audit import log_event
from pharmacrm.core.models import AuditAction
from pharmacrm.org.forms import TotpForm
from pharmacrm.org.services import confirm_totp_device, pending_totp_device, revoke_api_token, set_language


def lockout_response(request: HttpRequest, original_response: Any = None, credentials: Any = None) -> HttpResponse:
    """Shown (HTTP 429) when a username has too many failed logins; API clients get JSON."""
    minutes = int(settings.AXES_COOLOFF_TIME * 60)
    message = _("Too many failed attempts. This account is locked for %(minutes)d minutes.") % {"minutes": minutes}
    if request.path.startswith("/api/"):
        from django.http import JsonResponse

        return JsonResponse({"error": {"code": "locked", "message": message}}, status=429)
    return render(request, "org/login.html", {"locked_message": message, "form": None}, status=429)


class LoginView(auth_views.LoginView):
    template_name = "org/login.html"
    redirect_authenticated_user = True


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "org/password_change.html"
    success_url = reverse_lazy("core:home")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)  # keeps this session, ends the others (hash changed)
        revoke_api_token(self.request.user)  # a token is a session too (ASVS 7.4.3)
        log_event(AuditAction.PASSWORD_CHANGE, actor=self.request.user, obj=self.request.user)
        messages.success(self.request, _("Your password was changed."))
        return response


class PasswordResetView(auth_views.PasswordResetView):
    """Ask for a reset link by email; the answer is the same whether or not the address is known."""

    template_name = "org/password_reset_form.html"
    email_template_name = "org/password_reset_email.txt"
    subject_template_name = "org/password_reset_subject.txt"
    success_url = reverse_lazy("org:password_reset_done")


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "org/password_reset_confirm.html"
    success_url = reverse_lazy("org:password_reset_complete")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)  # every session ends (hash changed), and the API token
        revoke_api_token(form.user)
        log_event(AuditAction.PASSWORD_CHANGE, actor=form.user, obj=form.user, changes={"via": "emailed link"})
        return response


@require_POST
def switch_language(request: HttpRequest) -> HttpResponse:
    language = request.POST.get("language", "")
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    if request.user.is_authenticated:
        set_language(user=request.user, language=language)
    request.session["language"] = language
    target = request.POST.get("next", "/")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    response = redirect(target)
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, samesite="Lax", httponly=True,
                        secure=request.is_secure())
    return response


def _qr_data_uri(device: TOTPDevice) -> str:
    svg = segno.make(device.config_url, error="m").svg_inline(scale=4)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


@login_required
def two_factor(request: HttpRequest) -> HttpResponse:
    """Enrol (first time) or verify a TOTP device for this session."""
    user = request.user
    device = TOTPDevice.objects.devices_for_user(user, confirmed=True).first()
    enrolling = device is None
    if enrolling:
        device = pending_totp_device(user)
    form = TotpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            if enrolling:
                confirm_totp_device(user=user, device=device)
            otp_login(request, device)
            target = request.GET.get("next", "/")
            if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
                target = "/"
            return redirect(target)
        form.add_error("token", _("The code is not valid. Check your device's clock and try again."))
    context = {"form": form, "enrolling": enrolling}
    if enrolling:
        context["qr"] = _qr_data_uri(device)
        context["secret"] = base64.b32encode(device.bin_key).decode()
    return render(request, "org/two_factor.html", context)
