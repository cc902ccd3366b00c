"""Survey pages: results (response rate, satisfaction, NPS by grade, province and product), campaigns (create,
launch — the links shown once —, close), question sets, invitations (make a link to send) and responses. Thin:
reads through ``visible_to`` and ``surveys.analysis``, writes through ``surveys.services``."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.views.decorators.http import require_POST

from pharmacrm.core import policy
from pharmacrm.core.audit import StaleVersion
from pharmacrm.core.exports import export_table
from pharmacrm.core.generic import ScopedListView, get_visible_or_404, refused, require, service_error
from pharmacrm.surveys import analysis, services
from pharmacrm.surveys.choices import Breakdown, CampaignStatus
from pharmacrm.surveys.filters import InvitationFilter, ResponseFilter
from pharmacrm.surveys.forms import CampaignForm, QuestionSetForm
from pharmacrm.surveys.models import QuestionSet, SurveyCampaign, SurveyInvitation, SurveyResponse

REFUSALS = (ValidationError, StaleVersion, PermissionDenied)
EXPORT_PERMISSION = "surveys.export_surveyresponse"
RESULT_HEADER = (_l("Group"), _l("Invited"), _l("Answered"), _l("Response rate (%)"), _l("Satisfaction average"),
                 "CSAT 1", "CSAT 2", "CSAT 3", "CSAT 4", "CSAT 5", "NPS", _l("Promoters"), _l("Passives"),
                 _l("Detractors"))


def _results(request: HttpRequest, invitations: Any, name: str, filters: dict[str, str]) -> dict[str, Any] | Any:
    """Overall and by grade, province and product; ``?format=csv&by=…`` exports one breakdown (export right)."""
    by = request.GET.get("by", "")
    if request.GET.get("format") == "csv":
        require(request, EXPORT_PERMISSION)
        if by not in Breakdown.values:
            by = Breakdown.SEGMENT
        rows = analysis.table_rows([analysis.overall(invitations), *analysis.breakdown(invitations, by)])
        rows[0][0] = _("All")
        return export_table(actor=request.user, model=SurveyInvitation._meta.label, header=RESULT_HEADER, rows=rows,
                            name=f"{name}-{by}", filters={**filters, "by": by})
    return {"overall": analysis.overall(invitations),
            "breakdowns": [(label, key, analysis.breakdown(invitations, key)) for key, label in Breakdown.choices],
            "can_export": request.user.has_perm(EXPORT_PERMISSION)}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The results of every survey the user may see (``?source=case|campaign``), and the latest low scores."""
    require(request, "surveys.view_surveyresponse")
    invitations = SurveyInvitation.objects.visible_to(request.user)
    source = request.GET.get("source", "")
    if source in ("case", "campaign"):
        invitations = invitations.filter(case__isnull=source != "case")
    results = _results(request, invitations, "survey-results", {"source": source})
    if not isinstance(results, dict):
        return results
    low = (SurveyResponse.objects.visible_to(request.user).filter(follow_up_case__isnull=False)
           .select_related("institution", "follow_up_case", "invitation__case", "campaign")[:10])
    return render(request, "surveys/home.html", {**results, "low": low, "source": source, "tab": "results"})


# --- campaigns ---------------------------------------------------------------------------------------------------


class CampaignListView(ScopedListView):
    model = SurveyCampaign
    permission_required = "surveys.view_surveycampaign"
    template_name = "surveys/campaign_list.html"
    select_related = ("question_set",)
    sort_options = {"-opens_on": ("-opens_on", "-id")}
    sort_labels = {"-opens_on": _l("Latest first")}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "tab": "campaigns"}


def _campaign_form_page(request: HttpRequest, campaign: SurveyCampaign | None) -> HttpResponse:
    initial: dict[str, Any] = {}
    if campaign is not None:
        initial = {"name": campaign.name, "question_set": campaign.question_set_id, "channel": campaign.channel,
                   "audience": f"{campaign.audience}:{campaign.klass}" if campaign.klass else campaign.audience,
                   "opens_on": campaign.opens_on, "closes_on": campaign.closes_on, "version": campaign.version}
    form = CampaignForm(request.POST or None, initial=initial,
                        question_sets=QuestionSet.objects.visible_to(request.user).filter(active=True))
    if request.method == "POST" and form.is_valid():
        try:
            campaign = services.save_campaign(actor=request.user, campaign=campaign,
                                              expected_version=form.cleaned_data.get("version") if campaign else None,
                                              **form.service_arguments())
        except REFUSALS as error:
            service_error(form, error)
        else:
            messages.success(request, _("Campaign saved."))
            return redirect(campaign.get_absolute_url())
    title = _("New campaign") if campaign is None else _("Edit the campaign")
    return render(request, "surveys/form.html", {"form": form, "title": title, "tab": "campaigns",
                                                 "back": reverse("surveys:campaign_list")},
                  status=400 if form.errors else 200)


@login_required
def campaign_create(request: HttpRequest) -> HttpResponse:
    require(request, "surveys.add_surveycampaign")
    return _campaign_form_page(request, None)


@login_required
def campaign_edit(request: HttpRequest, pk: int) -> HttpResponse:
    require(request, "surveys.change_surveycampaign")
    return _campaign_form_page(request, get_visible_or_404(SurveyCampaign, request.user, pk=pk))


@login_required
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The campaign, its counts and its results among the customers the user may see."""
    require(request, "surveys.view_surveycampaign")
    campaign = get_visible_or_404(SurveyCampaign.objects.select_related("question_set"), request.user, pk=pk)
    invitations = SurveyInvitation.objects.visible_to(request.user).filter(campaign=campaign)
    results = _results(request, invitations, f"survey-campaign-{campaign.pk}", {"campaign": str(campaign.pk)})
    if not isinstance(results, dict):
        return results
    return render(request, "surveys/campaign_detail.html", {
        **results, "campaign": campaign, "tab": "campaigns",
        "preview": (services.segment_contacts(campaign.audience, campaign.klass, policy.today()).count()
                    if campaign.status == CampaignStatus.DRAFT else None)})


@login_required
@require_POST
def campaign_launch(request: HttpRequest, pk: int) -> HttpResponse:
    """Launch: the invitations are written and their links shown on this page, once."""
    require(request, "surveys.launch_surveycampaign")
    campaign = get_visible_or_404(SurveyCampaign, request.user, pk=pk)
    try:
        launch = services.launch_campaign(actor=request.user, campaign=campaign,
                                          base_url=request.build_absolute_uri("/")[:-1])
    except REFUSALS as error:
        refused(request, error)
        return redirect(campaign.get_absolute_url())
    base = request.build_absolute_uri("/")[:-1]
    links = [(invitation, services.survey_url(token, base)) for invitation, token in launch.links]
    return render(request, "surveys/campaign_launched.html", {"campaign": launch.campaign, "links": links,
                                                              "tab": "campaigns"})


@login_required
@require_POST
def campaign_close(request: HttpRequest, pk: int) -> HttpResponse:
    require(request, "surveys.launch_surveycampaign")
    campaign = get_visible_or_404(SurveyCampaign, request.user, pk=pk)
    try:
        services.close_campaign(actor=request.user, campaign=campaign)
    except REFUSALS as error:
        refused(request, error)
    else:
        messages.success(request, _("Campaign closed; its links no longer work."))
    return redirect(campaign.get_absolute_url())


# --- question sets -----------------------------------------------------------------------------------------------


@login_required
def question_sets(request: HttpRequest) -> HttpResponse:
    require(request, "surveys.view_questionset")
    rows = QuestionSet.objects.visible_to(request.user)[:200]
    return render(request, "surveys/questionset_list.html", {"rows": rows, "tab": "question_sets"})


@login_required
def question_set_create(request: HttpRequest) -> HttpResponse:
    require(request, "surveys.add_questionset")
    form = QuestionSetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_question_set(actor=request.user, **form.cleaned_data)
        except REFUSALS as error:
            service_error(form, error)
        else:
            messages.success(request, _("Question set saved."))
            return redirect(reverse("surveys:questionset_list"))
    return render(request, "surveys/form.html", {"form": form, "title": _("New question set"), "tab": "question_sets",
                                                 "back": reverse("surveys:questionset_list")},
                  status=400 if form.errors else 200)


# --- invitations and responses -----------------------------------------------------------------------------------


class InvitationListView(ScopedListView):
    """Who was asked (or why not), answered or not; *Make link* gives a link to send, shown once."""

    model = SurveyInvitation
    permission_required = "surveys.view_surveyinvitation"
    template_name = "surveys/invitation_list.html"
    filterset_class = InvitationFilter
    select_related = ("institution", "contact", "campaign", "case")
    sort_options = {"-created_at": ("-created_at", "-id")}
    sort_labels = {"-created_at": _l("Latest first")}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "tab": "invitations"}


@login_required
@require_POST
def invitation_link(request: HttpRequest, pk: int) -> HttpResponse:
    require(request, "surveys.send_surveyinvitation")
    invitation = get_visible_or_404(SurveyInvitation.objects.select_related("contact", "institution", "campaign"),
                                    request.user, pk=pk)
    try:
        token = services.make_link(actor=request.user, invitation=invitation)
    except REFUSALS as error:
        refused(request, error)
        return redirect(f"{reverse('surveys:invitation_list')}?invitation={invitation.pk}")
    invitation.refresh_from_db()
    return render(request, "surveys/invitation_link.html", {
        "invitation": invitation, "tab": "invitations",
        "url": services.survey_url(token, request.build_absolute_uri("/")[:-1])})


RESPONSE_COLUMNS = ((_l("Answered at"), "answered_at"), (_l("Customer"), "institution.name"),
                    (_l("Source"), "invitation.source_label"), (_l("Satisfaction (1–5)"), "csat"),
                    (_l("Recommendation (0–10)"), "nps"), (_l("Comment"), "comment"),
                    (_l("Follow-up case"), "follow_up_case.number"))


class ResponseListView(ScopedListView):
    model = SurveyResponse
    permission_required = "surveys.view_surveyresponse"
    template_name = "surveys/response_list.html"
    filterset_class = ResponseFilter
    select_related = ("institution", "invitation__campaign", "invitation__case", "follow_up_case")
    sort_options = {"-answered_at": ("-answered_at", "-id"), "csat": ("csat", "-answered_at", "-id")}
    sort_labels = {"-answered_at": _l("Latest first"), "csat": _l("Lowest satisfaction first")}
    export_columns = RESPONSE_COLUMNS
    export_permission = EXPORT_PERMISSION
    export_name = "survey-responses"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "tab": "responses"}
