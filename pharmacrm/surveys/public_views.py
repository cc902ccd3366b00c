"""The public survey page ``/s/<secret>/``: no sign-in, one answer per link, nothing else shown.

It shows the question set's questions and the company's name and takes one answer: not the case, the customer,
the contact or anything else (PIPL: the link may be forwarded). An unknown or replaced link is the plain 404; a
used one says so politely; an expired one says it has expired. Requests are limited per address
(``surveys.ratelimit``). CSRF protection applies to the form as everywhere.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.views.decorators.cache import never_cache

from pharmacrm.core import policy
from pharmacrm.core.middleware import client_ip
from pharmacrm.surveys import ratelimit, services
from pharmacrm.surveys.choices import QuestionKind
from pharmacrm.surveys.models import MAX_ANSWER, QuestionSet

CSAT_CHOICES = [(str(score), str(score)) for score in range(1, 6)]
NPS_CHOICES = [(str(score), str(score)) for score in range(0, 11)]


class AnswerForm(forms.Form):
    """One field per question of the set; the service checks the answers again."""

    def __init__(self, *args: Any, question_set: QuestionSet, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for question in question_set.questions:
            key, kind, text = question["key"], question["kind"], question["text"]
            if kind == QuestionKind.TEXT:
                self.fields[key] = forms.CharField(label=text, required=False, max_length=MAX_ANSWER,
                                                   widget=forms.Textarea(attrs={"rows": 4, "class": "form-control"}))
            else:
                self.fields[key] = forms.ChoiceField(label=text, widget=forms.RadioSelect,
                                                     choices=CSAT_CHOICES if kind == QuestionKind.CSAT else NPS_CHOICES,
                                                     error_messages={"required": _l("Choose a score."),
                                                                     "invalid_choice": _l("Choose a score.")})
            self.fields[key].kind = kind


def _page(request: HttpRequest, template: str, context: dict[str, Any] | None = None, status: int = 200) -> HttpResponse:
    company = str(policy.get("surveys.company_name") or "") or _("PharmaCRM")
    response = render(request, f"surveys/{template}", {"company": company, **(context or {})}, status=status)
    response["X-Robots-Tag"] = "noindex, nofollow"
    # the secret is in the address: never send it to another site. Not "no-referrer": the browser would then post
    # the answer with "Origin: null", which the CSRF check rightly refuses (seen in the browser journey)
    response["Referrer-Policy"] = "same-origin"
    return response


@never_cache
def survey_page(request: HttpRequest, token: str) -> HttpResponse:
    address = client_ip(request)
    if ratelimit.over_limit(address):
        return _page(request, "public_limited.html", status=429)
    invitation = services.find_invitation(token)
    if invitation is None:
        ratelimit.count_bad_link(address)
        raise Http404
    try:
        services.check_open(invitation)
    except services.AlreadyAnswered:
        return _page(request, "public_answered.html", status=409 if request.method == "POST" else 200)
    except services.LinkExpired:
        return _page(request, "public_expired.html", status=410)
    form = AnswerForm(request.POST if request.method == "POST" else None, question_set=invitation.question_set)
    if request.method == "POST" and form.is_valid():
        try:
            services.answer(invitation=invitation, raw=form.cleaned_data)
        except services.AlreadyAnswered:
            return _page(request, "public_answered.html", status=409)
        except services.LinkExpired:
            return _page(request, "public_expired.html", status=410)
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                form.add_error(field if field in form.fields else None, messages)
        else:
            return _page(request, "public_thanks.html")
    return _page(request, "public_survey.html", {"form": form}, status=400 if form.errors else 200)
