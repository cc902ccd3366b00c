"""Importers of customer master data: institutions, contacts and licences (core.imports runs them).

Upserts: an institution row updates the live institution with the same customer code or
USCC (only the cells the file fills; empty cells keep what is stored), otherwise it is
new. Contacts are matched within their institution by name and mobile, licences by
institution, type and number. Institutions, contacts and licences are referred to by
customer code, USCC or (when unique) exact name.

Stewards import anything. Managers may load new customers for their own team: the
owners they name must be in their scope and the new rows wait for the steward's
review, as a rep's new customer does; rows matching an existing customer are refused.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pharmacrm.core import bulkinsert, hanzi, imports, policy
from pharmacrm.core.audit import Change, append, audited_bulk_create, audited_create, audited_update
from pharmacrm.core.imports import (
    Importer,
    Outcome,
    choice_lookup,
    limit_text,
    parse_bool,
    parse_choice,
    parse_date,
    parse_int,
    parse_list,
)
from pharmacrm.core.models import AuditAction
from pharmacrm.core.querysets import allow_bulk_writes
from pharmacrm.core.tabular import Column
from pharmacrm.core.validators import LANDLINE, MOBILE, check_uscc, normalize_phone
from pharmacrm.customers import qualification, search
from pharmacrm.customers.choices import (
    PARENT_KINDS,
    BirthdayCalendar,
    ContactTitle,
    DecisionRole,
    HospitalGrade,
    InfluenceLevel,
    InstitutionKind,
    InstitutionStatus,
    LicenceKind,
    ProductAwareness,
    ProductCategory,
    PurchaseFrequency,
    ReviewStatus,
    SourceChannel,
)
from pharmacrm.customers.models import Affiliation, Contact, Institution, Licence, Tag
from pharmacrm.org.models import Division, DivisionLevel, User
from pharmacrm.org.roles import Role
from pharmacrm.org.scope import scope_of

IMPORT_PERMISSION = "customers.import_institution"
STEWARD_PERMISSION = "customers.steward_institution"

_PROVINCE_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "省", "市")
_CITY_SUFFIXES = ("自治州", "地区", "市", "盟")
_DISTRICT_SUFFIXES = ("自治县", "新区", "区", "县", "市", "旗")


def _short(name: str, suffixes: Iterable[str]) -> str:
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


class Regions:
    """Province / city / district names (full or short: 广东 = 广东省) → GB/T 2260 codes.

    Names are indexed once per run; a file names the same few hundred places over and
    over, so each distinct (province, city, district) is resolved once.
    """

    def __init__(self) -> None:
        self.by_code: dict[str, Division] = {}
        children: dict[str | None, list[Division]] = defaultdict(list)
        for division in Division.objects.all():  # public reference data
            self.by_code[division.code] = division
            children[division.parent_id].append(division)
        self.children = children
        #: (code of an ancestor or None, level) → normalised name → divisions
        self.names: dict[tuple[str | None, str], dict[str, list[Division]]] = {}
        self.resolved: dict[tuple[str, str, str], tuple[Division | None, list[tuple[str, str]]]] = {}

    def _index(self, ancestor: str | None, level: str) -> dict[str, list[Division]]:
        key = (ancestor, level)
        if key not in self.names:
            index: dict[str, list[Division]] = defaultdict(list)
            for division in self._below(ancestor, level):
                suffixes = {DivisionLevel.PROVINCE: _PROVINCE_SUFFIXES, DivisionLevel.CITY: _CITY_SUFFIXES}.get(
                    division.level, _DISTRICT_SUFFIXES)
                for name in {hanzi.normalize(division.name), hanzi.normalize(_short(division.name, suffixes))}:
                    index[name].append(division)
            self.names[key] = index
        return self.names[key]

    def _below(self, ancestor: str | None, level: str) -> list[Division]:
        found, queue = [], list(self.children.get(ancestor, []))
        while queue:
            node = queue.pop()
            if node.level == level:
                found.append(node)
            elif ancestor is not None or level != DivisionLevel.PROVINCE:
                queue.extend(self.children.get(node.code, []))
        return found

    def resolve(self, outcome: Outcome, province: str, city: str, district: str, code: str) -> Division | None:
        if code:
            division = self.by_code.get(code.strip())
            if division is None:
                outcome.error("division_code", _("Unknown division code %(code)s.") % {"code": code[:12]})
            return division
        key = (province, city, district)
        if key not in self.resolved:
            self.resolved[key] = self._resolve(province, city, district)
        division, problems = self.resolved[key]
        for column, message in problems:
            outcome.error(column, message)
        return division

    def _resolve(self, province: str, city: str, district: str) -> tuple[Division | None, list[tuple[str, str]]]:
        if not province:
            return None, ([("province", _("Enter the province too."))] if city or district else [])
        provinces = self._index(None, DivisionLevel.PROVINCE).get(hanzi.normalize(province), [])
        if len(provinces) != 1:
            return None, [("province", _("Unknown province %(name)r.") % {"name": province[:30]})]
        current = provinces[0]
        if city:
            cities = self._index(current.code, DivisionLevel.CITY).get(hanzi.normalize(city), [])
            if not cities and hanzi.normalize(_short(city, _PROVINCE_SUFFIXES)) == hanzi.normalize(
                    _short(current.name, _PROVINCE_SUFFIXES)):
                cities = self.children.get(current.code, [])[:1]  # 北京市 北京市 …: a municipality's own city row
            if len(cities) != 1:
                return None, [("city", _("Unknown city %(name)r in %(province)s.")
                               % {"name": city[:30], "province": current.name})]
            current = cities[0]
        if district:
            districts = self._index(current.code, DivisionLevel.DISTRICT).get(hanzi.normalize(district), [])
            if len(districts) != 1:
                return None, [("district", _("Unknown district or county %(name)r in %(parent)s.")
                               % {"name": district[:30], "parent": current.name})]
            current = districts[0]
        return current, []


class People:
    """Owners named in a file: by username or (when unique) full name, within the importer's scope."""

    def __init__(self, actor: Any) -> None:
        self.actor = actor
        self.scope = scope_of(actor)
        self.by_key: dict[str, list[User]] = defaultdict(list)
        for user in User.objects.filter(is_active=True).select_related("team"):  # internal: name lookup only
            self.by_key[user.username.casefold()].append(user)
            if user.full_name and user.full_name.casefold() != user.username.casefold():
                self.by_key[user.full_name.casefold()].append(user)

    def resolve(self, outcome: Outcome, key: str, *, academic: bool = False) -> User | None:
        text = outcome.values.get(key, "").strip()
        if not text:
            return None
        users = self.by_key.get(text.casefold(), [])
        if len(users) != 1:
            message = (_("%(name)r names more than one user; use the username.") if users
                       else _("No active user %(name)r."))
            outcome.error(key, message % {"name": text[:40]})
            return None
        user = users[0]
        if academic and user.role != Role.ACADEMIC_REP:
            outcome.error(key, _("%(name)s is not an academic rep.") % {"name": text[:40]})
            return None
        if not academic and user.role not in (Role.REP, Role.MANAGER, Role.REGIONAL_MANAGER, Role.KEY_ACCOUNT):
            outcome.error(key, _("%(name)s is not a sales role and cannot own customers.") % {"name": text[:40]})
            return None
        if not (self.scope.everything or user.pk == self.actor.pk or user.pk in self.scope.member_ids):
            outcome.error(key, _("%(name)s is outside your team; you cannot assign customers to them.")
                          % {"name": text[:40]})
            return None
        return user


def _is_steward(actor: Any) -> bool:
    return actor.has_perm(STEWARD_PERMISSION)


def _ids_matching(**values: set[str]) -> Any:
    """Ids of institutions whose column equals one of its values (``code={…}, uscc={…}``): one indexed
    SELECT per column, united (an OR of the IN lists makes SQLite scan the whole table)."""
    branches = [Institution._base_manager.filter(**{f"{column}__in": wanted}).order_by().values("pk")
                for column, wanted in values.items()]
    return branches[0].union(*branches[1:], all=True)


#: a contact or licence row: its outcome, the institution it names, its parsed fields
ParsedRow = tuple[Outcome, Institution, dict[str, Any]]


def _lookup_institutions(actor: Any, refs: set[str]) -> dict[str, list[Institution]]:
    """Live institutions the actor may see, by customer code, USCC and exact name."""
    refs = {ref for ref in refs if ref}
    found: dict[str, list[Institution]] = defaultdict(list)
    if not refs:
        return found
    queryset = Institution.objects.visible_to(actor).live().filter(
        pk__in=_ids_matching(code=refs, uscc={ref.upper() for ref in refs}, name=refs),
    ).only("id", "name", "code", "uscc", "kind")
    for institution in queryset:
        for key in {institution.code or "", institution.uscc, institution.name} - {""}:
            found[key].append(institution)
    return found


def _parse_at_institutions(actor: Any, chunk: list[Outcome], fields_of: Any) -> list[ParsedRow]:
    """Rows of a contact or licence file: each row's institution (one lookup for the chunk) and its fields;
    only rows without an error so far."""
    found = _lookup_institutions(actor, {outcome.values.get("institution", "").strip() for outcome in chunk})
    parsed = []
    for outcome in chunk:
        institution = _institution_ref(outcome, "institution", found)
        fields = fields_of(outcome)
        if institution is not None and outcome.ok:
            parsed.append((outcome, institution, fields))
    return parsed


def _institution_ref(outcome: Outcome, key: str, found: dict[str, list[Institution]]) -> Institution | None:
    text = outcome.values.get(key, "").strip()
    if not text:
        outcome.error(key, _("Enter the institution's customer code, USCC or name."))
        return None
    matches = {row.pk: row for row in found.get(text, []) + found.get(text.upper(), [])}
    if len(matches) != 1:
        outcome.error(key, _("%(ref)r matches several institutions; use the customer code or USCC.") % {"ref": text[:40]}
                      if matches else _("No institution %(ref)r that you can see.") % {"ref": text[:40]})
        return None
    return next(iter(matches.values()))


# --- institutions -----------------------------------------------------------------------------------------------


@dataclass
class InstitutionRow:
    fields: dict[str, Any]
    tags: list[str] | None
    existing: Institution | None = None
    #: customer code or USCC of a parent that is a new row of the same file
    parent_ref: str = ""
    ref: str = ""
    instance: Institution | None = None
    children: list[InstitutionRow] = field(default_factory=list)


#: what customer files commonly say instead of the type's own label
KIND_WORDS = {
    "公立医院": InstitutionKind.PUBLIC_HOSPITAL, "医院": InstitutionKind.PUBLIC_HOSPITAL,
    "私立医院": InstitutionKind.PRIVATE_HOSPITAL, "社区卫生服务站": InstitutionKind.COMMUNITY_CENTER,
    "社区卫生服务中心/站": InstitutionKind.COMMUNITY_CENTER, "社区医院": InstitutionKind.COMMUNITY_CENTER,
    "卫生院": InstitutionKind.TOWNSHIP_HOSPITAL, "卫生室": InstitutionKind.VILLAGE_CLINIC,
    "诊所": InstitutionKind.CLINIC, "门诊部": InstitutionKind.CLINIC, "连锁总部": InstitutionKind.CHAIN_HQ,
    "连锁药店": InstitutionKind.CHAIN_STORE, "门店": InstitutionKind.CHAIN_STORE, "药店": InstitutionKind.PHARMACY,
    "单体药房": InstitutionKind.PHARMACY, "经销商": InstitutionKind.DISTRIBUTOR, "配送商": InstitutionKind.DISTRIBUTOR,
    "医药公司": InstitutionKind.DISTRIBUTOR, "医联体": InstitutionKind.HOSPITAL_GROUP,
    "医院集团": InstitutionKind.HOSPITAL_GROUP,
}

_TEXT_FIELDS = (("short_name", 100), ("legal_representative", 50), ("address", 300), ("business_scope", 5000),
                ("categories_needed", 300), ("decision_process", 2000))


@imports.register
class InstitutionImporter(Importer):
    kind = "customers.institution"
    label = gettext_lazy("Institutions")
    permission = IMPORT_PERMISSION
    columns = (
        Column("code", "客户编码", ("customer code", "code", "编码", "客户代码")),
        Column("name", "客户名称", ("name", "名称", "机构名称", "单位名称", "医院名称"), required=True),
        Column("short_name", "简称", ("short name",)),
        Column("aliases", "曾用名", ("former names", "别名")),
        Column("uscc", "统一社会信用代码", ("uscc", "信用代码", "社会信用代码")),
        Column("legal_representative", "法定代表人", ("legal representative", "法人")),
        Column("kind", "客户类型", ("type", "类型", "机构类型"), required=True),
        Column("hospital_grade", "医院等级", ("grade", "等级")),
        Column("status", "合作状态", ("status", "状态")),
        Column("province", "省份", ("province", "省")),
        Column("city", "城市", ("city", "市", "地市")),
        Column("district", "区县", ("district", "county", "区/县")),
        Column("division_code", "行政区划代码", ("division code", "区划代码")),
        Column("address", "地址", ("address", "详细地址")),
        Column("phone", "电话", ("phone", "联系电话")),
        Column("business_scope", "经营范围", ("business scope",)),
        Column("bed_count", "床位数", ("beds",)),
        Column("annual_outpatient_visits", "年门诊量", ("outpatient visits",)),
        Column("source_channel", "来源渠道", ("source", "来源")),
        Column("first_cooperation_date", "首次合作日期", ("first cooperation",)),
        Column("owner", "负责代表", ("owner", "负责人", "销售代表")),
        Column("academic_owner", "学术代表", ("academic rep",)),
        Column("parent", "上级单位", ("parent", "上级机构", "所属总部")),
        Column("tags", "标签", ("tags",)),
        Column("categories_needed", "所需品类", ("categories needed",)),
        Column("purchase_frequency", "采购频率", ("purchase frequency",)),
        Column("product_awareness", "产品认知", ("awareness",)),
        Column("decision_process", "决策流程", ("decision process",)),
        Column("annual_budget", "年度药品预算", ("budget", "预算")),
    )
    examples = (
        {"code": "C000001", "name": "上海市第一人民医院", "short_name": "市一医院", "uscc": "12310000425005525E",
         "kind": "公立医院", "hospital_grade": "三级甲等", "status": "合作中", "province": "上海", "city": "上海市",
         "district": "虹口区", "address": "武进路85号", "phone": "021-63240090", "bed_count": "2000",
         "owner": "rep_east", "tags": "重点；教学医院", "first_cooperation_date": "2019-05-01"},
    )

    @classmethod
    def notes(cls) -> list[str]:
        return [
            _("Rows update the institution with the same customer code or USCC; other rows create new institutions."),
            _("Regions: province, city and district names (广东 or 广东省), or a 6-digit division code."),
            _("Owner: the rep's username or full name. Lists (former names, tags): separate with ； or 、."),
            _("Parent: customer code or USCC of the chain headquarters, hospital group or hospital; it may be a row "
              "above in the same file."),
        ]

    def start(self) -> None:
        self.regions = Regions()
        self.people = People(self.actor)
        self.steward = _is_steward(self.actor)
        self.kinds = choice_lookup(InstitutionKind, KIND_WORDS)
        self.grades = choice_lookup(HospitalGrade, {"三甲": "3A", "三乙": "3B", "二甲": "2A", "二乙": "2B"})
        self.statuses = choice_lookup(InstitutionStatus)
        self.channels = choice_lookup(SourceChannel)
        self.frequencies = choice_lookup(PurchaseFrequency)
        self.awareness = choice_lookup(ProductAwareness)
        self.rules = qualification.Rules.on(policy.today())
        self.seen: dict[str, int] = {}
        #: new rows of this file by customer code and USCC (possible parents of later rows)
        self.new_rows: dict[str, InstitutionRow] = {}

    # check ------------------------------------------------------------------------------------------------

    def check(self, chunk: list[Outcome]) -> None:
        refs = set()
        for outcome in chunk:
            refs |= {outcome.values.get("code", ""), outcome.values.get("uscc", "").upper().replace(" ", ""),
                     outcome.values.get("parent", "")}
        existing = self._existing(refs - {""})
        names = {outcome.values.get("name", "") for outcome in chunk}
        same_name = defaultdict(list)
        for row in Institution.objects.live().filter(name__in=names - {""}).values("id", "name", "division_id"):
            same_name[(row["name"], row["division_id"])].append(row["id"])
        for outcome in chunk:
            self._check_row(outcome, existing, same_name)

    def _existing(self, refs: set[str]) -> dict[str, Institution]:
        """Live institutions by code and USCC, whoever owns them (an upsert must not duplicate)."""
        found: dict[str, Institution] = {}
        if refs:
            for institution in Institution.objects.live().filter(pk__in=_ids_matching(code=refs, uscc=refs)):
                found[f"code:{institution.code}"] = institution
                if institution.uscc:
                    found[f"uscc:{institution.uscc}"] = institution
        ids = {institution.pk for institution in found.values()}
        if self.people.scope.everything:
            self.visible_ids = ids
        else:
            self.visible_ids = set(Institution.objects.visible_to(self.actor).filter(pk__in=ids)
                                   .values_list("pk", flat=True))
        return found

    def _check_row(self, outcome: Outcome, existing: dict[str, Institution],
                   same_name: dict[tuple[str, str], list[int]]) -> None:
        values = outcome.values
        fields: dict[str, Any] = {}
        code = limit_text(outcome, "code", 40)
        name = limit_text(outcome, "name", 200)
        if "name" in values and not name and not any(p.column == "name" for p in outcome.problems):
            outcome.error("name", _("Enter the institution's name."))
        uscc = ""
        if values.get("uscc"):
            try:
                checked = check_uscc(values["uscc"])
            except ValidationError as error:
                outcome.error("uscc", " ".join(error.messages))
            else:
                if checked.checksum_ok:
                    uscc = checked.value
                else:
                    outcome.error("uscc", _("The check character of this USCC is wrong. If the licence really says "
                                            "so, create the institution by hand: the steward can override with a "
                                            "scan of the licence."))
        for key, ref in (("code", code), ("uscc", uscc)):
            if ref:
                first = self.seen.get(f"{key}:{ref}")
                if first is not None:
                    outcome.error(key, _("Duplicate in the file: row %(row)s has the same value.") % {"row": first})
                else:
                    self.seen[f"{key}:{ref}"] = outcome.number
        by_code = existing.get(f"code:{code}") if code else None
        by_uscc = existing.get(f"uscc:{uscc}") if uscc else None
        if by_code and by_uscc and by_code.pk != by_uscc.pk:
            outcome.error("uscc", _("The customer code is institution %(a)s but the USCC is institution %(b)s.")
                          % {"a": by_code.name, "b": by_uscc.name})
        target = by_code or by_uscc
        if target is not None:
            if not self.steward:
                outcome.error("code" if by_code else "uscc", _("%(name)s already exists; only the data steward "
                                                               "updates existing customers by import.")
                              % {"name": target.name})
            elif target.pk not in self.visible_ids:
                outcome.error("code" if by_code else "uscc", _("This customer exists outside your scope."))
        if name:
            fields["name"] = name
        if code:
            fields["code"] = code
        if uscc:
            fields["uscc"] = uscc
        if values.get("aliases"):
            fields["aliases"] = [alias[:200] for alias in parse_list(values["aliases"])][:20]
        for key, length in _TEXT_FIELDS:
            if values.get(key):
                fields[key] = limit_text(outcome, key, length)
        for key, lookup in (("kind", self.kinds), ("hospital_grade", self.grades), ("status", self.statuses),
                            ("source_channel", self.channels), ("purchase_frequency", self.frequencies),
                            ("product_awareness", self.awareness)):
            if values.get(key):
                fields[key] = parse_choice(outcome, key, lookup)
        if "kind" in values and not values.get("kind") and target is None:
            outcome.error("kind", _("Enter the customer type."))
        division = self.regions.resolve(outcome, values.get("province", ""), values.get("city", ""),
                                        values.get("district", ""), values.get("division_code", ""))
        if division is not None:
            fields["division"] = division
        elif target is None and not any(p.column in ("province", "city", "district", "division_code")
                                        for p in outcome.problems):
            outcome.error("province", _("Enter the region (province, city, district) of a new institution."))
        if values.get("phone"):
            try:
                fields["phone"] = normalize_phone(values["phone"])
            except ValidationError as error:
                outcome.error("phone", " ".join(error.messages))
        for key in ("bed_count", "annual_outpatient_visits"):
            number = parse_int(outcome, key)
            if number is not None:
                fields[key] = number
        if values.get("annual_budget"):
            budget = parse_int(outcome, "annual_budget", maximum=10**12 - 1)
            if budget is not None:
                fields["annual_budget"] = budget
        first = parse_date(outcome, "first_cooperation_date")
        if first:
            fields["first_cooperation_date"] = first
        owner = self.people.resolve(outcome, "owner")
        if owner is not None:
            fields["owner"], fields["team"] = owner, owner.team
        elif target is None and not values.get("owner"):
            if self.actor.role in (Role.MANAGER, Role.REGIONAL_MANAGER):
                fields["owner"], fields["team"] = self.actor, self.actor.team
            elif not any(p.column == "owner" for p in outcome.problems):
                outcome.error("owner", _("Enter the owner rep of a new institution."))
        academic = self.people.resolve(outcome, "academic_owner", academic=True)
        if academic is not None:
            fields["academic_owner"] = academic
        tags = [tag[:30] for tag in parse_list(values["tags"])] if values.get("tags") else None
        row = InstitutionRow(fields, tags, existing=target, ref=code or uscc)
        self._check_parent(outcome, row, existing)
        if target is None and outcome.ok:
            key = (name, getattr(division, "code", None))
            if same_name.get(key):
                outcome.error("name", _("An institution with this name already exists in this district; add its "
                                        "customer code or USCC to update it instead."))
            first_row = self.seen.get(f"name:{key}")
            if first_row is not None:
                outcome.error("name", _("Duplicate in the file: row %(row)s has the same name and region.")
                              % {"row": first_row})
            self.seen.setdefault(f"name:{key}", outcome.number)
        if outcome.ok:
            outcome.payload = row
            if target is None:
                for ref in (code, uscc):
                    if ref:
                        self.new_rows[ref] = row

    def _check_parent(self, outcome: Outcome, row: InstitutionRow, existing: dict[str, Institution]) -> None:
        ref = outcome.values.get("parent", "").strip()
        kind = row.fields.get("kind") or (row.existing.kind if row.existing else "")
        parent_kind = None
        if ref:
            in_file = self.new_rows.get(ref) or self.new_rows.get(ref.upper())
            parent = existing.get(f"code:{ref}") or existing.get(f"uscc:{ref.upper()}")
            if in_file is not None:
                row.parent_ref = in_file.ref
                in_file.children.append(row)
                parent_kind = in_file.fields.get("kind")
            elif parent is not None:
                row.fields["parent"] = parent
                parent_kind = parent.kind
            else:
                outcome.error("parent", _("No institution with customer code or USCC %(ref)r (in the system or in a "
                                          "row above).") % {"ref": ref[:40]})
                return
        elif row.existing is None and kind in (InstitutionKind.CHAIN_STORE, InstitutionKind.DEPARTMENT):
            outcome.error("parent", _("A chain store belongs to a chain headquarters and a department to a hospital: "
                                      "enter the parent."))
            return
        if parent_kind and kind and parent_kind not in PARENT_KINDS.get(kind, frozenset()):
            outcome.error("parent", _("A %(kind)s cannot belong to a %(parent)s.")
                          % {"kind": InstitutionKind(kind).label, "parent": InstitutionKind(parent_kind).label})

    # write ------------------------------------------------------------------------------------------------

    def write(self, chunk: list[Outcome]) -> tuple[int, int]:
        rows: list[InstitutionRow] = [outcome.payload for outcome in chunk]
        new = [row for row in rows if row.existing is None]
        created = self._create(new)
        changed = [row for row in rows if row.existing is not None]
        current = Institution.objects.select_for_update().prefetch_related("tags").in_bulk(
            [row.existing.pk for row in changed])
        updated = sum(self._update(row, current[row.existing.pk]) for row in changed)
        return created, updated

    def _create(self, rows: list[InstitutionRow]) -> int:
        pending = [row for row in rows if row.instance is None]
        review = ReviewStatus.APPROVED if self.steward else ReviewStatus.PENDING
        total = 0
        while pending:
            ready = [row for row in pending if not row.parent_ref or self.new_rows[row.parent_ref].instance]
            if not ready:  # a parent row failed later checks: cannot happen for valid rows, but never loop
                raise imports.ImportAborted
            instances = []
            for row in ready:
                fields = dict(row.fields)
                if row.parent_ref:
                    fields["parent"] = self.new_rows[row.parent_ref].instance
                institution = Institution(review_status=review, **fields)
                division = institution.division_id
                institution.province_code, institution.city_code = division[:2] + "0000", division[:4] + "00"
                if institution.hospital_grade and not institution.is_hospital:
                    institution.hospital_grade = ""
                status = qualification.evaluate(institution, licences=[], rules=self.rules)
                institution.qualification_status, institution.qualification_until = status.status, status.until
                institution.search_key = search.institution_key(institution)
                instances.append(institution)
                row.instance = institution
            tags_of = {id(row.instance): sorted(set(row.tags)) for row in ready if row.tags}
            audited_bulk_create(Institution, instances, actor=self.actor, reason=_("Import"),
                                extra=lambda row, tags_of=tags_of: {"tags": tags_of[id(row)]} if id(row) in tags_of
                                else {})
            search.index_institutions(instances, keys_current=True)  # keys were set above
            self._set_tags([row for row in ready if row.tags], created=True)
            if not self.steward:
                from pharmacrm.customers import stewardship

                for institution in instances:
                    stewardship.request_review(actor=self.actor, institution=institution)
            total += len(ready)
            pending = [row for row in pending if row.instance is None]
        return total

    def _update(self, row: InstitutionRow, institution: Institution) -> int:
        changes = {key: value for key, value in row.fields.items()
                   if getattr(institution, Institution._meta.get_field(key).attname) != getattr(value, "pk", value)}
        changed = bool(changes)
        if changes:
            institution = audited_update(institution, actor=self.actor, changes=changes, reason=_("Import"))
            qualification.refresh(institution)
            search.index_institutions([institution])
        row.instance = institution
        if row.tags is not None:
            before = sorted(tag.name for tag in institution.tags.all())
            if before != sorted(set(row.tags)):
                self._set_tags([row], created=False)
                changed = True
        return int(changed)

    def _set_tags(self, rows: list[InstitutionRow], *, created: bool) -> None:
        if not rows:
            return
        names = {name for row in rows for name in row.tags or []}
        tags = {tag.name: tag for tag in Tag.objects.filter(name__in=names)}
        for name in sorted(names - set(tags)):
            tags[name] = audited_create(Tag, actor=self.actor, name=name)
        through = Institution.tags.through
        changes, links = [], []
        for row in rows:
            wanted = sorted(set(row.tags or []))
            before = [] if created else sorted(row.instance.tags.values_list("name", flat=True))
            links += [through(institution_id=row.instance.pk, tag_id=tags[name].pk) for name in wanted]
            if not created:  # a new row's tags are in its creation entry
                changes.append(Change(AuditAction.UPDATE, row.instance, {"tags": [before, wanted]}, _("Import")))
        with allow_bulk_writes():
            if not created:
                through.objects.filter(institution_id__in=[row.instance.pk for row in rows]).delete()
            bulkinsert.insert(through, links)  # audited above (updates) or in the creation entries (new rows)
        append(changes, actor=self.actor)


# --- contacts ---------------------------------------------------------------------------------------------------


@imports.register
class ContactImporter(Importer):
    kind = "customers.contact"
    label = gettext_lazy("Contacts")
    permission = IMPORT_PERMISSION
    columns = (
        Column("institution", "所属机构", ("institution", "机构", "医院", "客户编码", "机构编码"),
               required=True),
        Column("name", "姓名", ("name", "联系人", "联系人姓名"), required=True),
        Column("gender", "性别", ("gender", "sex")),
        Column("department", "科室", ("department", "部门")),
        Column("title", "职称", ("title",)),
        Column("specialty", "专业方向", ("specialty", "专业")),
        Column("decision_role", "决策角色", ("decision role", "角色")),
        Column("influence_level", "学术影响力", ("influence", "影响力")),
        Column("is_key_contact", "关键联系人", ("key contact",)),
        Column("mobile", "手机", ("mobile", "手机号", "手机号码")),
        Column("office_phone", "办公电话", ("office phone", "座机")),
        Column("email", "邮箱", ("email", "电子邮箱")),
        Column("wechat_id", "微信号", ("wechat", "微信")),
        Column("birthday", "生日", ("birthday", "出生日期")),
        Column("birthday_calendar", "生日历法", ("calendar",)),
        Column("notes", "备注", ("notes",)),
    )
    examples = ({"institution": "C000001", "name": "张伟", "gender": "男", "department": "心内科", "title": "主任医师",
                 "decision_role": "决策者", "is_key_contact": "是", "mobile": "13812345678",
                 "office_phone": "021-63240090-8001", "birthday": "1972-03-15", "birthday_calendar": "公历"},)

    @classmethod
    def notes(cls) -> list[str]:
        return [_("Institution: its customer code, USCC or exact name."),
                _("A row updates the contact with the same name (and mobile, when given) at that institution."),
                _("Resident ID numbers are not imported (personal data minimisation); enter them on the contact page "
                  "when really needed.")]

    def start(self) -> None:
        self.genders = choice_lookup(Contact.Gender, {"男": "M", "女": "F", "男性": "M", "女性": "F"})
        self.titles = choice_lookup(ContactTitle)
        self.roles = choice_lookup(DecisionRole)
        self.influence = choice_lookup(InfluenceLevel)
        self.calendars = choice_lookup(BirthdayCalendar, {"阳历": "solar", "阴历": "lunar"})
        self.seen: dict[tuple[int, str, str], int] = {}

    def check(self, chunk: list[Outcome]) -> None:
        parsed = _parse_at_institutions(self.actor, chunk, self._fields)
        names = {fields["name"] for _o, _i, fields in parsed}
        existing: dict[tuple[int, str], list[Contact]] = defaultdict(list)
        ids = {institution.pk for _o, institution, _f in parsed}
        for contact in Contact.objects.filter(institution_id__in=ids, name__in=names):
            existing[(contact.institution_id, contact.name)].append(contact)
        for outcome, institution, fields in parsed:
            key = (institution.pk, fields["name"], fields.get("mobile", ""))
            if key in self.seen:
                outcome.error("name", _("Duplicate in the file: row %(row)s has the same contact.")
                              % {"row": self.seen[key]})
                continue
            self.seen[key] = outcome.number
            same = existing.get((institution.pk, fields["name"]), [])
            if fields.get("mobile"):
                same = [contact for contact in same if contact.mobile in ("", fields["mobile"])]
            if len(same) > 1:
                outcome.error("name", _("Several contacts called %(name)s work there; add the mobile number to say "
                                        "which.") % {"name": fields["name"]})
                continue
            outcome.payload = (institution, fields, same[0] if same else None)

    def _fields(self, outcome: Outcome) -> dict[str, Any]:
        values = outcome.values
        fields: dict[str, Any] = {"name": limit_text(outcome, "name", 50)}
        if not fields["name"] and not outcome.problems:
            outcome.error("name", _("Enter the contact's name."))
        for key, length in (("department", 50), ("specialty", 100), ("wechat_id", 50), ("notes", 2000)):
            if values.get(key):
                fields[key] = limit_text(outcome, key, length)
        for key, lookup in (("gender", self.genders), ("title", self.titles), ("decision_role", self.roles),
                            ("influence_level", self.influence), ("birthday_calendar", self.calendars)):
            if values.get(key):
                fields[key] = parse_choice(outcome, key, lookup)
        if values.get("is_key_contact"):
            flag = parse_bool(outcome, "is_key_contact")
            if flag is not None:
                fields["is_key_contact"] = flag
        for key, kind in (("mobile", MOBILE), ("office_phone", LANDLINE)):
            if values.get(key):
                try:
                    fields[key] = normalize_phone(values[key], kind)
                except ValidationError as error:
                    outcome.error(key, " ".join(error.messages))
        if values.get("email"):
            try:
                validate_email(values["email"])
                fields["email"] = values["email"][:254]
            except ValidationError:
                outcome.error("email", _("Enter a valid email address."))
        birthday = parse_date(outcome, "birthday")
        if birthday:
            fields["birthday"] = birthday
        return fields

    def write(self, chunk: list[Outcome]) -> tuple[int, int]:
        new, updated = [], 0
        for outcome in chunk:
            institution, fields, contact = outcome.payload
            if contact is None:
                new.append(Contact(institution=institution, **fields))
                continue
            changes = {key: value for key, value in fields.items() if getattr(contact, key) != value}
            if changes:
                contact = audited_update(contact, actor=self.actor, changes=changes, reason=_("Import"))
                search.index_contacts([contact])
                updated += 1
        for contact in new:
            contact.search_key = search.contact_key(contact)
        created = audited_bulk_create(Contact, new, actor=self.actor, reason=_("Import"))
        audited_bulk_create(Affiliation, [Affiliation(contact=contact, institution_id=contact.institution_id,
                                                      department=contact.department, title=contact.title)
                                          for contact in created], actor=self.actor, reason=_("Import"))
        search.index_contacts(created, keys_current=True)
        return len(created), updated


# --- licences ---------------------------------------------------------------------------------------------------


@imports.register
class LicenceImporter(Importer):
    kind = "customers.licence"
    label = gettext_lazy("Licences")
    permission = IMPORT_PERMISSION
    columns = (
        Column("institution", "所属机构", ("institution", "机构", "客户编码", "机构编码"), required=True),
        Column("kind", "证照类型", ("type", "类型", "资质类型"), required=True),
        Column("number", "证照编号", ("number", "证号", "编号", "许可证编号"), required=True),
        Column("issuer", "发证机关", ("issuer", "发证部门")),
        Column("scope", "许可范围", ("scope", "经营范围")),
        Column("categories", "药品类别", ("categories", "品类")),
        Column("purchaser_name", "被委托人", ("purchaser", "采购人")),
        Column("valid_from", "有效期起", ("valid from", "发证日期")),
        Column("valid_to", "有效期至", ("valid to", "valid until", "有效期止", "到期日")),
        Column("next_verification_on", "下次校验日期", ("next verification",)),
    )
    examples = ({"institution": "C000001", "kind": "医疗机构执业许可证", "number": "PDY00001231010019A1001",
                 "issuer": "上海市卫生健康委员会", "valid_from": "2021-01-01", "valid_to": "2026-12-31"},)

    @classmethod
    def notes(cls) -> list[str]:
        return [_("A row updates the licence with the same institution, type and number; others are added."),
                _("Licences imported by the data steward count as reviewed; anyone else's wait for review."),
                _("Drug categories: separate with ；, e.g. 化学药；中成药.")]

    def start(self) -> None:
        self.kinds = choice_lookup(LicenceKind)
        self.categories = choice_lookup(ProductCategory)
        self.steward = _is_steward(self.actor)
        self.seen: dict[tuple[int, str, str], int] = {}
        self.touched: set[int] = set()

    def check(self, chunk: list[Outcome]) -> None:
        parsed = _parse_at_institutions(self.actor, chunk, self._fields)
        existing = {}
        for licence in Licence.objects.filter(institution_id__in={i.pk for _o, i, _f in parsed},
                                              number__in={f["number"] for _o, _i, f in parsed}):
            existing[(licence.institution_id, licence.kind, licence.number)] = licence
        for outcome, institution, fields in parsed:
            key = (institution.pk, fields["kind"], fields["number"])
            if key in self.seen:
                outcome.error("number", _("Duplicate in the file: row %(row)s has the same licence.")
                              % {"row": self.seen[key]})
                continue
            self.seen[key] = outcome.number
            current = existing.get(key)
            candidate = Licence(institution=institution, **{**_licence_values(current), **fields})
            try:
                candidate.clean()
            except ValidationError as error:
                for key_name, messages in error.message_dict.items():
                    outcome.error(key_name, " ".join(messages))
                continue
            outcome.payload = (institution, fields, current)

    def _fields(self, outcome: Outcome) -> dict[str, Any]:
        values = outcome.values
        fields: dict[str, Any] = {"number": limit_text(outcome, "number", 60)}
        if not values.get("number"):
            outcome.error("number", _("Enter the licence number."))
        fields["kind"] = parse_choice(outcome, "kind", self.kinds)
        if not values.get("kind"):
            outcome.error("kind", _("Enter the licence type."))
        for key, length in (("issuer", 100), ("scope", 5000), ("purchaser_name", 50)):
            if values.get(key):
                fields[key] = limit_text(outcome, key, length)
        if values.get("categories"):
            codes = []
            for item in parse_list(values["categories"]):
                code = self.categories.get(item.casefold())
                if code is None:
                    outcome.error("categories", _("Unknown drug category %(name)r.") % {"name": item[:30]})
                else:
                    codes.append(code)
            fields["categories"] = sorted(set(codes))
        for key in ("valid_from", "valid_to", "next_verification_on"):
            day = parse_date(outcome, key)
            if day:
                fields[key] = day
        return fields

    def write(self, chunk: list[Outcome]) -> tuple[int, int]:
        review = {"review_status": ReviewStatus.APPROVED, "reviewed_by": self.actor,
                  "reviewed_at": timezone.now(), "review_comment": _("Imported by the data steward")} \
            if self.steward else {}
        new, updated = [], 0
        for outcome in chunk:
            institution, fields, current = outcome.payload
            self.touched.add(institution.pk)
            if current is None:
                new.append(Licence(institution_id=institution.pk, **fields, **review))
                continue
            changes = {key: value for key, value in fields.items() if getattr(current, key) != value}
            if changes:
                audited_update(current, actor=self.actor, reason=_("Import"),
                               changes={**changes, **(review or {"review_status": ReviewStatus.PENDING})})
                updated += 1
        created = audited_bulk_create(Licence, new, actor=self.actor, reason=_("Import"))
        return len(created), updated

    def finish(self) -> None:
        rules = qualification.Rules.on(policy.today())
        licences: dict[int, list[Licence]] = defaultdict(list)
        ids = sorted(self.touched)
        for start in range(0, len(ids), 500):
            for licence in Licence.objects.filter(institution_id__in=ids[start:start + 500]):
                licences[licence.institution_id].append(licence)
        for start in range(0, len(ids), 500):
            for institution in Institution.objects.filter(pk__in=ids[start:start + 500]):
                result = qualification.evaluate(institution, licences=licences[institution.pk], rules=rules)
                if (institution.qualification_status, institution.qualification_until) != (result.status,
                                                                                           result.until):
                    Institution.objects.filter(pk=institution.pk).update_derived(
                        qualification_status=result.status, qualification_until=result.until)


def _licence_values(licence: Licence | None) -> dict[str, Any]:
    if licence is None:
        return {}
    return {key: getattr(licence, key) for key in ("kind", "number", "issuer", "scope", "categories",
                                                   "purchaser_name", "valid_from", "valid_to",
                                                   "next_verification_on")}

