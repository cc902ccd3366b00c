"""What each dimension's rules may say: their parameters, defaults (from the seeds) and checks.

A rule version stores its parameters as data (``RuleVersion.parameters``); this module only knows which
parameters a dimension has, their bounds and the seed defaults, and validates a draft. Every number the
engine uses comes from a published version — nothing about a rule is hard-coded in the engine.

Defaults: size ≥ ¥1,000,000 large, ¥200,000–1,000,000 medium (seed 003 二.1, [X] filled as the issue says);
tenure > 3 years long, 1–3 medium (seed 003 二.3); core share ≥ 30 % (seed 002 一.(一)); the grade's
indicators — volume, growth, loyalty (frequency, recency, tenure) and credit — are seed 000 二.3's; the
key-account factors — amount, frequency, duration, market influence — seed 001 三.1's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pharmacrm.core.forms import StyledFormMixin
from pharmacrm.grading.choices import Dimension


@dataclass(frozen=True)
class Parameter:
    name: str
    label: Any
    default: int
    minimum: int
    maximum: int
    help_text: Any = ""


P = Parameter
YUAN_MAX = 10**11  # ¥100 billion: above any terminal's annual purchases
INFLUENCE = gettext_lazy("Market influence score")

SCHEMA: dict[str, tuple[Parameter, ...]] = {
    Dimension.SIZE: (
        P("large_min_yuan", gettext_lazy("Large from (¥ a year)"), 1_000_000, 1, YUAN_MAX,
          gettext_lazy("Purchases in the last 12 months at or above this are large.")),
        P("medium_min_yuan", gettext_lazy("Medium from (¥ a year)"), 200_000, 0, YUAN_MAX,
          gettext_lazy("At or above this and below large are medium; below it small.")),
    ),
    Dimension.TENURE: (
        P("long_over_years", gettext_lazy("Long-term: more than (years)"), 3, 1, 100),
        P("medium_from_years", gettext_lazy("Medium-term: from (years)"), 1, 0, 100,
          gettext_lazy("From this many years up to the long-term limit; less is short-term.")),
    ),
    Dimension.DEPTH: (
        P("core_share_percent", gettext_lazy("Core from share (%)"), 30, 1, 100,
          gettext_lazy("Our share of the customer's annual purchases in our categories.")),
    ),
    Dimension.GRADE: (
        P("w_volume", gettext_lazy("Weight: purchase volume"), 35, 0, 100),
        P("w_growth", gettext_lazy("Weight: growth"), 15, 0, 100),
        P("w_frequency", gettext_lazy("Weight: purchase frequency"), 15, 0, 100),
        P("w_recency", gettext_lazy("Weight: recency"), 10, 0, 100),
        P("w_tenure", gettext_lazy("Weight: tenure"), 10, 0, 100),
        P("w_credit", gettext_lazy("Weight: credit status"), 15, 0, 100),
        P("premium_min", gettext_lazy("Premium from score"), 75, 1, 100),
        P("general_min", gettext_lazy("General from score"), 45, 0, 100),
        P("growth_full_percent", gettext_lazy("Growth for full marks (%)"), 50, -100, 1000),
        P("growth_zero_percent", gettext_lazy("Growth for no marks (%)"), -50, -100, 1000),
        P("growth_unknown_score", gettext_lazy("Growth score without a previous year"), 50, 0, 100,
          gettext_lazy("For a customer that bought nothing in the 12 months before.")),
        P("frequency_full", gettext_lazy("Purchases in 12 months for full marks"), 12, 1, 10_000),
        P("recency_zero_months", gettext_lazy("Months without a purchase for no marks"), 12, 1, 120),
        P("tenure_full_years", gettext_lazy("Years of cooperation for full marks"), 5, 1, 100),
        P("credit_a", gettext_lazy("Credit score: within limit"), 100, 0, 100),
        P("credit_b", gettext_lazy("Credit score: no credit line"), 60, 0, 100),
        P("credit_c", gettext_lazy("Credit score: over limit"), 0, 0, 100),
        P("upgrade_margin", gettext_lazy("Upgrade candidates within (points)"), 10, 0, 100,
          gettext_lazy("Customers this close below the next grade are upgrade candidates; this close above "
                       "their own cut-off, downgrade warnings.")),
    ),
    Dimension.KEY_ACCOUNT: (
        P("w_amount", gettext_lazy("Weight: purchase amount"), 40, 0, 100),
        P("w_frequency", gettext_lazy("Weight: purchase frequency"), 20, 0, 100),
        P("w_tenure", gettext_lazy("Weight: cooperation duration"), 20, 0, 100),
        P("w_influence", gettext_lazy("Weight: market influence"), 20, 0, 100),
        P("influence_3A", INFLUENCE, 100, 0, 100, gettext_lazy("Grade III-A hospital")),
        P("influence_3B", INFLUENCE, 90, 0, 100, gettext_lazy("Grade III-B hospital")),
        P("influence_3", INFLUENCE, 85, 0, 100, gettext_lazy("Grade III hospital")),
        P("influence_2A", INFLUENCE, 60, 0, 100, gettext_lazy("Grade II-A hospital")),
        P("influence_2B", INFLUENCE, 55, 0, 100, gettext_lazy("Grade II-B hospital")),
        P("influence_2", INFLUENCE, 50, 0, 100, gettext_lazy("Grade II hospital")),
        P("influence_1", INFLUENCE, 30, 0, 100, gettext_lazy("Grade I hospital")),
        P("influence_hospital_group", INFLUENCE, 90, 0, 100, gettext_lazy("Hospital group / medical alliance")),
        P("influence_chain_hq", INFLUENCE, 80, 0, 100, gettext_lazy("Pharmacy chain headquarters")),
        P("influence_distributor", INFLUENCE, 60, 0, 100, gettext_lazy("Distributor")),
        P("influence_other", INFLUENCE, 20, 0, 100, gettext_lazy("Any other customer")),
        P("top_n", gettext_lazy("Candidates: the top"), 500, 1, 100_000),
        P("min_score", gettext_lazy("Candidates: from score"), 60, 0, 100),
    ),
}

#: hospital grades and customer types with their own influence parameter (``influence_<key>``)
INFLUENCE_GRADES = ("3A", "3B", "3", "2A", "2B", "2", "1")
INFLUENCE_KINDS = ("hospital_group", "chain_hq", "distributor")


def defaults(dimension: str) -> dict[str, int]:
    return {parameter.name: parameter.default for parameter in SCHEMA[dimension]}


def parameter_form(dimension: str, *, data: Any = None, initial: dict[str, Any] | None = None) -> forms.Form:
    """A form with one integer field per parameter of ``dimension``, checked as ``validate`` checks."""
    fields = {parameter.name: forms.IntegerField(label=parameter.label, min_value=parameter.minimum,
                                                 max_value=parameter.maximum, help_text=parameter.help_text)
              for parameter in SCHEMA[dimension]}

    def clean(form: forms.Form) -> dict[str, Any]:
        cleaned = forms.Form.clean(form)
        if not form.errors:
            for field, message in _cross_checks(dimension, cleaned):
                form.add_error(field, message)
        return cleaned

    form_class = type(f"{dimension.title()}RulesForm", (StyledFormMixin, forms.Form), {**fields, "clean": clean})
    return form_class(data=data, initial=initial or defaults(dimension))


def validate(dimension: str, parameters: Any) -> dict[str, int]:
    """The parameters a version may store: every one present, integers within bounds, consistent; else
    ``ValidationError`` naming each field."""
    if dimension not in SCHEMA:
        raise ValidationError({"dimension": _("Unknown dimension.")})
    if not isinstance(parameters, dict):
        raise ValidationError({"parameters": _("Expected an object of parameter values.")})
    unknown = sorted(set(parameters) - {parameter.name for parameter in SCHEMA[dimension]})
    if unknown:
        raise ValidationError({"parameters": _("Unknown parameters: %(names)s.") % {"names": ", ".join(unknown)}})
    form = parameter_form(dimension, data={**defaults(dimension), **parameters})
    if not form.is_valid():
        raise ValidationError(form.errors)
    return {name: int(value) for name, value in form.cleaned_data.items()}


def _cross_checks(dimension: str, values: dict[str, int]) -> list[tuple[str, str]]:
    problems = []
    if dimension == Dimension.SIZE and values["medium_min_yuan"] >= values["large_min_yuan"]:
        problems.append(("medium_min_yuan", _("Must be below the large threshold.")))
    if dimension == Dimension.TENURE and values["medium_from_years"] > values["long_over_years"]:
        problems.append(("medium_from_years", _("Must not be above the long-term limit.")))
    if dimension == Dimension.GRADE:
        if values["general_min"] >= values["premium_min"]:
            problems.append(("general_min", _("Must be below the premium cut-off.")))
        if values["growth_zero_percent"] >= values["growth_full_percent"]:
            problems.append(("growth_zero_percent", _("Must be below the growth for full marks.")))
        if not any(values[name] for name in GRADE_WEIGHTS):
            problems.append(("w_volume", _("At least one weight must be above zero.")))
    if dimension == Dimension.KEY_ACCOUNT and not any(values[name] for name in KEY_ACCOUNT_WEIGHTS):
        problems.append(("w_amount", _("At least one weight must be above zero.")))
    return problems


GRADE_WEIGHTS = ("w_volume", "w_growth", "w_frequency", "w_recency", "w_tenure", "w_credit")
KEY_ACCOUNT_WEIGHTS = ("w_amount", "w_frequency", "w_tenure", "w_influence")
