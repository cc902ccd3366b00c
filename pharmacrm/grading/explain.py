"""Why a customer has its classes, in words: each class with the inputs, thresholds and rule version behind it.

Everything comes from the stored ``Classification`` row and the parameters of the versions it names, so the
page says what the run decided, not what today's rules would say. Amounts are shown only to users who may
see purchases (academic reps see the classes, not the money: DOMAIN.md 2.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from pharmacrm.core.money import fen_to_yuan
from pharmacrm.grading import rules
from pharmacrm.grading.choices import DepthClass, Grade, SizeClass, TenureClass
from pharmacrm.grading.models import Classification, RuleVersion


@dataclass
class Line:
    dimension: str
    klass: str
    label: str
    because: str
    version: RuleVersion


def _yuan(fen: int, money: bool) -> str:
    return f"¥{fen_to_yuan(fen):,.2f}" if money else "¥…"


def explain(row: Classification, *, money: bool) -> list[Line]:
    """One line per dimension: "优质: volume ¥1.8M (p90), growth +22%, 11 purchases in 12 months, credit A →
    score 84.0 ≥ 75 (grade v3)"."""
    lines = []
    size = row.size_rule.values
    threshold = {SizeClass.LARGE: ("≥", size["large_min_yuan"]), SizeClass.MEDIUM: ("≥", size["medium_min_yuan"]),
                 SizeClass.SMALL: ("<", size["medium_min_yuan"])}[row.size]
    lines.append(Line("size", row.size, SizeClass(row.size).label, _("last 12 months %(amount)s %(op)s ¥%(limit)s") % {
        "amount": _yuan(row.amount_12_fen, money), "op": threshold[0], "limit": f"{threshold[1]:,}"}, row.size_rule))

    tenure = row.tenure_rule.values
    if row.cooperation_since is None:
        because = _("no first cooperation on file and no purchase")
    else:
        because = _("cooperating since %(date)s%(source)s: %(years).1f years "
                    "(long-term > %(long)s, medium-term ≥ %(medium)s)") % {
            "date": row.cooperation_since.isoformat(), "years": row.tenure_years or 0,
            "source": _(" (first purchase)") if row.since_first_purchase else "",
            "long": tenure["long_over_years"], "medium": tenure["medium_from_years"]}
    lines.append(Line("tenure", row.tenure, TenureClass(row.tenure).label, because, row.tenure_rule))

    depth = row.depth_rule.values
    if row.depth == DepthClass.TO_DEVELOP:
        because = _("no purchases in the last 12 months")
    elif row.share is None:
        because = _("annual purchases in our categories unknown: add them to the customer's purchase profile")
    else:
        because = _("our share %(share).1f%% of %(total)s a year (core from %(core)s%%)") % {
            "share": row.share * 100, "total": _yuan(row.category_total_fen or 0, money),
            "core": depth["core_share_percent"]}
    lines.append(Line("depth", row.depth, DepthClass(row.depth).label, because, row.depth_rule))

    grade = row.grade_rule.values
    growth = _("no previous year") if row.growth is None else f"{row.growth * 100:+.0f}%"
    cut = {Grade.PREMIUM: f"≥ {grade['premium_min']}", Grade.GENERAL: f"≥ {grade['general_min']}",
           Grade.POTENTIAL: f"< {grade['general_min']}"}[row.grade]
    lines.append(Line("grade", row.grade, Grade(row.grade).label, _(
        "volume %(amount)s (p%(percentile).0f), growth %(growth)s, %(lines)s purchases in 12 months, "
        "credit %(credit)s → score %(score).1f %(cut)s") % {
        "amount": _yuan(row.amount_12_fen, money), "percentile": row.volume_percentile, "growth": growth,
        "lines": row.lines_12, "credit": row.credit, "score": row.grade_score, "cut": cut}, row.grade_rule))

    ka = row.ka_rule.values
    candidate = (_("candidate no. %(rank)s") % {"rank": row.ka_rank} if row.ka_rank else _("not a candidate"))
    lines.append(Line("key_account", "candidate" if row.ka_rank else "", candidate, _(
        "score %(score).1f (candidates: the top %(top)s from %(minimum)s)") % {
        "score": row.ka_score, "top": ka["top_n"], "minimum": ka["min_score"]}, row.ka_rule))
    return lines


def components(row: Classification) -> list[dict[str, Any]]:
    """The grade's weighted components: score, weight and the points each adds."""
    grade = row.grade_rule.values
    weights = {name: grade[f"w_{name}"] for name in ("volume", "growth", "frequency", "recency", "tenure", "credit")}
    total = sum(weights.values()) or 1
    labels = {"volume": _("Purchase volume"), "growth": _("Growth"), "frequency": _("Purchase frequency"),
              "recency": _("Recency"), "tenure": _("Tenure"), "credit": _("Credit status")}
    return [{"label": labels[name], "score": getattr(row, f"s_{name}"), "weight": weight,
             "points": round(getattr(row, f"s_{name}") * weight / total, 1)} for name, weight in weights.items()]


@dataclass
class Condition:
    label: str
    score: float
    target: float
    met: bool
    missing_points: float  # what this component lacks, in grade-score points, to reach the target


def next_grade(row: Classification, parameters: dict[str, int]) -> tuple[str, int] | None:
    """The grade above this customer's and its cut-off; None at the top."""
    if row.grade == Grade.POTENTIAL:
        return Grade.GENERAL, parameters["general_min"]
    if row.grade == Grade.GENERAL:
        return Grade.PREMIUM, parameters["premium_min"]
    return None


def near_boundary(rows: QuerySet, kind: str, parameters: dict[str, int]) -> QuerySet:
    """Seed 000 五.3: upgrade candidates are within ``upgrade_margin`` points below the next grade's cut-off;
    downgrade warnings less than that above their own grade's cut-off."""
    margin, premium, general = parameters["upgrade_margin"], parameters["premium_min"], parameters["general_min"]
    if kind == "upgrade":
        return rows.filter(Q(grade=Grade.GENERAL, grade_score__gte=premium - margin)
                           | Q(grade=Grade.POTENTIAL, grade_score__gte=general - margin))
    return rows.filter(Q(grade=Grade.PREMIUM, grade_score__lt=premium + margin)
                       | Q(grade=Grade.GENERAL, grade_score__lt=general + margin))


def upgrade_conditions(row: Classification, parameters: dict[str, int]) -> list[Condition]:
    """Seed 000 五.3 升级条件: the score must reach the next grade's cut-off; each weighted component is "met"
    when it already scores at that level, and the ones that are not say how many points they lack."""
    step = next_grade(row, parameters)
    if step is None:
        return []
    target = step[1]
    total = sum(parameters[name] for name in rules.GRADE_WEIGHTS) or 1
    labels = {"volume": _("Purchase volume"), "growth": _("Growth"), "frequency": _("Purchase frequency"),
              "recency": _("Recency"), "tenure": _("Tenure"), "credit": _("Credit status")}
    conditions = [Condition(_("Grade score"), row.grade_score, target, row.grade_score >= target,
                            max(0.0, round(target - row.grade_score, 1)))]
    for name, label in labels.items():
        weight = parameters[f"w_{name}"]
        if weight:
            score = getattr(row, f"s_{name}")
            conditions.append(Condition(label, round(score, 1), target, score >= target,
                                        round(max(0.0, target - score) * weight / total, 1)))
    return conditions
