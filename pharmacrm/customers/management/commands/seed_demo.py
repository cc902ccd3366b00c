"""manage.py seed_demo: a realistic, deterministic Chinese demo company.

Teams (销售部 → 大区 → 组, plus head-office departments), one demo user per
role (password ``pharmacrm-demo``), reps spread over several provinces, and
``--scale`` institutions (hospitals by grade, primary care, clinics, pharmacy
chains and their stores, single pharmacies, distributors) in real districts,
each owned by the rep whose territory covers its district, with contacts
(about 2.8 per institution: hospitals have many, pharmacies one or two).

From ``NATIONAL_SCALE`` institutions up the company is national, as at 1.8M: every
district of the mainland, one team per city under its 大区, a rep per ``BOOK``
covered institutions (a real rep covers 100–800), and the uncovered rest
(1 − ``COVERAGE``) parked with the city's manager; the named demo reps keep
their territories and a book of a few hundred.

The same ``--seed`` gives the same data (only timestamps differ); ``customers.management.seeding``
says how (one generator per province, rounds, worker processes). Up to ``BULK_SCALE``
rows go through ``audited_bulk_create`` — one audit entry per row; above it (or with
``--bulk``) they are inserted with executemany and audited with one entry per model
and round naming the id range: 1.8M institutions and 5M contacts (with licences,
affiliations and full-text rows) take about 24 minutes on two cores. Either way the
full-text index is filled and ANALYZE runs last.
"""

from __future__ import annotations

import datetime
import os
import random
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from stdnum.cn import uscc

from pharmacrm.core import policy
from pharmacrm.core.audit import audited_update
from pharmacrm.core.models import AuditEntry
from pharmacrm.customers import qualification, search
from pharmacrm.customers.choices import (
    HOSPITAL_KINDS,
    ContactTitle,
    DecisionRole,
    HospitalGrade,
    InstitutionKind,
    InstitutionStatus,
    LicenceKind,
    ProductAwareness,
    ProductCategory,
    PurchaseFrequency,
    ReviewStatus,
    SourceChannel,
)
from pharmacrm.customers.management import seeding
from pharmacrm.customers.models import Contact, Institution, Licence
from pharmacrm.org.models import Division, DivisionLevel, Team, User
from pharmacrm.org.roles import Role
from pharmacrm.org.services import create_team, create_user

DEMO_PASSWORD = "pharmacrm-demo"
#: above this many institutions rows are bulk-inserted and audited per batch (see the module docstring)
BULK_SCALE = 10000
#: from this many institutions on the demo company covers the whole mainland with a rep per book
NATIONAL_SCALE = 100000
#: institutions a generated rep covers; the named demo reps' books are weight × BOOK / 10
BOOK = 400
#: share of a city's institutions with a rep; the rest wait with the city's manager
COVERAGE = 0.4

# --- organisation -----------------------------------------------------------------------

#: (name, parent name or None); 销售部 is the sales line, the rest head office
TEAMS: list[tuple[str, str | None]] = [
    ("销售部", None),
    ("华东大区", "销售部"), ("华东一组", "华东大区"), ("华东二组", "华东大区"),
    ("西南大区", "销售部"), ("西南一组", "西南大区"), ("西南二组", "西南大区"),
    ("华北大区", "销售部"), ("华北一组", "华北大区"),
    ("华南大区", "销售部"), ("华南一组", "华南大区"),
    ("华中大区", "销售部"), ("华中一组", "华中大区"),
    ("总经理办公室", None), ("信息技术部", None), ("客户主数据组", None), ("合规部", None),
    ("市场部", None), ("财务部", None), ("法务部", None), ("大客户部", None), ("医学部", None),
    ("药物警戒部", None), ("客户服务部", None), ("质量保证部", None),
]


#: 大区 of each mainland province (two more 大区 join the sales line at national scale)
NATIONAL_REGIONS: dict[str, tuple[str, ...]] = {
    "华东大区": ("31", "32", "33", "34", "35", "36", "37"), "华北大区": ("11", "12", "13", "14", "15"),
    "东北大区": ("21", "22", "23"), "华南大区": ("44", "45", "46"), "华中大区": ("41", "42", "43"),
    "西南大区": ("50", "51", "52", "53", "54"), "西北大区": ("61", "62", "63", "64", "65"),
}


@dataclass(frozen=True)
class DemoUser:
    username: str
    full_name: str
    role: str
    team: str
    territories: tuple[str, ...] = ()
    #: share of institutions a rep owns (0 for non-owners)
    weight: int = 0
    #: district-code prefixes excluded from a province territory (covered by another rep)
    exclude: tuple[str, ...] = ()


DEMO_USERS: list[DemoUser] = [
    DemoUser("admin", "周志强", Role.ADMIN, "信息技术部"),
    DemoUser("rep_east", "陈晓明", Role.REP, "华东一组", ("310000",), weight=14),
    DemoUser("rep_west", "李雪梅", Role.REP, "西南一组", ("510100",), weight=12),
    DemoUser("manager_east", "张伟", Role.MANAGER, "华东一组"),
    DemoUser("regional_east", "刘建华", Role.REGIONAL_MANAGER, "华东大区", ("310000",)),
    DemoUser("steward", "赵丽娟", Role.STEWARD, "客户主数据组"),
    DemoUser("compliance", "孙文静", Role.COMPLIANCE, "合规部"),
    DemoUser("leader", "黄国栋", Role.LEADER, "总经理办公室"),
    DemoUser("marketing", "吴思雨", Role.MARKETING, "市场部"),
    DemoUser("finance", "郑海燕", Role.FINANCE, "财务部"),
    DemoUser("legal", "王立新", Role.LEGAL, "法务部"),
    DemoUser("key_account", "何俊杰", Role.KEY_ACCOUNT, "大客户部"),
    DemoUser("academic_east", "林晓燕", Role.ACADEMIC_REP, "华东一组"),
    DemoUser("pv_officer", "徐静怡", Role.PHARMACOVIGILANCE, "药物警戒部"),
    DemoUser("qa", "秦雅琴", Role.QA, "质量保证部"),
    DemoUser("dpo", "韩立群", Role.DPO, "合规部"),
    # More reps, so lists and scopes have realistic neighbours.
    DemoUser("rep_hangzhou", "沈佳怡", Role.REP, "华东二组", ("330100",), weight=7),
    DemoUser("rep_nanjing", "蒋涛", Role.REP, "华东二组", ("320100",), weight=7),
    DemoUser("rep_chongqing", "谭小红", Role.REP, "西南二组", ("500000",), weight=8),
    DemoUser("rep_sichuan", "罗斌", Role.REP, "西南二组", ("510000",), weight=8, exclude=("5101",)),
    DemoUser("rep_beijing", "马超", Role.REP, "华北一组", ("110000",), weight=9),
    DemoUser("rep_tianjin", "高明", Role.REP, "华北一组", ("120000",), weight=6),
    DemoUser("rep_guangzhou", "梁嘉欣", Role.REP, "华南一组", ("440100",), weight=8),
    DemoUser("rep_shenzhen", "钟伟强", Role.REP, "华南一组", ("440300",), weight=7),
    DemoUser("rep_wuhan", "胡丹", Role.REP, "华中一组", ("420100",), weight=7),
    # the service desk (issue 7): complaints, returns and quality feedback; clinical questions to medical affairs
    DemoUser("service_desk", "唐婷", Role.SERVICE, "客户服务部"),
    DemoUser("medical", "许博文", Role.MEDICAL, "医学部"),
]

# --- vocabulary -------------------------------------------------------------------------

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
            "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
GIVEN_MALE = "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林峰建国志文博昊然晨阳振海东"
GIVEN_FEMALE = "芳娜敏静丽艳娟霞燕玲婷雪慧颖琳洁倩晶璐萍红梅莉兰凤佳欣怡悦楠晓月蕾薇琴妍嘉雯瑶"
ROADS = ("中山", "人民", "解放", "建设", "和平", "长江", "黄河", "新华", "胜利", "文化", "健康", "延安", "友谊", "光明",
         "青年", "东风", "滨江", "科技", "学府", "朝阳", "复兴", "振兴", "幸福", "团结", "育才", "花园", "迎宾", "工农")
ROAD_SUFFIXES = ("路", "东路", "西路", "南路", "北路", "大道", "街")
STREETS = ("新华", "和平", "东湖", "南湖", "城南", "城北", "城东", "城西", "江滨", "花园", "金桥", "龙华", "太平", "长乐",
           "新桥", "永丰", "民主", "桃源", "东城", "西城")
TOWNS = ("石桥", "白马", "龙泉", "青山", "河口", "新店", "柳林", "杨家", "大坪", "三河", "高桥", "马家", "双凤", "永兴",
         "长安", "清水", "黄土", "凤凰", "太和", "安仁")
VILLAGES = ("王庄", "李家", "张湾", "新村", "石门", "柏树", "桃园", "前进", "红星", "东方", "高家", "双河")
BRANDS = ("康宁", "益民", "华康", "仁和", "百草", "惠民", "德仁", "济生", "万家", "福康", "安康", "永安", "寿康", "泰和",
          "同仁", "民生", "瑞康", "恒生", "正和", "广济")
CN_NUMBERS = "一二三四五六七八九十"
CITY_HOSPITALS = ("中心医院", "中医医院", "中西医结合医院", "妇幼保健院", "儿童医院", "肿瘤医院", "胸科医院", "口腔医院",
                  "精神卫生中心", "第一人民医院", "第二人民医院", "第三人民医院", "第四人民医院", "第五人民医院",
                  "第六人民医院", "第七人民医院", "第八人民医院", "第九人民医院", "第十人民医院")
DISTRICT_HOSPITALS = ("人民医院", "中医医院", "中心医院", "妇幼保健院", "第二人民医院", "第三人民医院", "中西医结合医院")
PRIVATE_HOSPITALS = ("医院", "骨科医院", "妇产医院", "眼科医院", "口腔医院", "康复医院", "肛肠医院", "中医医院")
CLINIC_KINDS = ("诊所", "门诊部", "中医诊所", "口腔诊所", "综合门诊部")
DISTRIBUTOR_SUFFIXES = ("医药有限公司", "医药商业有限公司", "医药股份有限公司", "药业有限公司")
OTHER_NAMES = ("疾病预防控制中心", "健康体检中心", "医学检验所", "血液透析中心")
MOBILE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153", "155",
                   "156", "157", "158", "159", "166", "176", "177", "180", "181", "182", "183", "185", "186", "187",
                   "188", "189", "191", "198", "199")
#: telephone area codes by city / province code prefix (longest prefix wins)
AREA_CODES = {"11": "010", "12": "022", "31": "021", "50": "023", "3201": "025", "3301": "0571", "4401": "020",
              "4403": "0755", "4201": "027", "5101": "028", "5107": "0816", "5106": "0838", "5105": "0830",
              "5113": "0817", "5115": "0831", "5117": "0818"}
PLACEHOLDER_DIVISIONS = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}

CLINICAL_DEPARTMENTS = ("心内科", "呼吸内科", "消化内科", "内分泌科", "神经内科", "肾内科", "肿瘤科", "血液科", "普外科",
                        "骨科", "儿科", "妇产科", "急诊科", "老年医学科", "感染科", "风湿免疫科")
PHYSICIAN_TITLES = (ContactTitle.CHIEF_PHYSICIAN, ContactTitle.ASSOCIATE_CHIEF_PHYSICIAN,
                    ContactTitle.ATTENDING_PHYSICIAN, ContactTitle.ATTENDING_PHYSICIAN, ContactTitle.RESIDENT)
PHARMACIST_TITLES = (ContactTitle.CHIEF_PHARMACIST, ContactTitle.ASSOCIATE_CHIEF_PHARMACIST, ContactTitle.PHARMACIST,
                     ContactTitle.PHARMACIST)

KIND_WEIGHTS: list[tuple[str, int]] = [
    (InstitutionKind.PUBLIC_HOSPITAL, 9), (InstitutionKind.PRIVATE_HOSPITAL, 4),
    (InstitutionKind.COMMUNITY_CENTER, 10), (InstitutionKind.TOWNSHIP_HOSPITAL, 7),
    (InstitutionKind.VILLAGE_CLINIC, 4), (InstitutionKind.CLINIC, 14), (InstitutionKind.CHAIN_STORE, 24),
    (InstitutionKind.PHARMACY, 20), (InstitutionKind.DISTRIBUTOR, 3), (InstitutionKind.OTHER, 1),
]
PUBLIC_GRADES: list[tuple[str, int]] = [
    (HospitalGrade.GRADE_3A, 14), (HospitalGrade.GRADE_3B, 10), (HospitalGrade.GRADE_3, 2),
    (HospitalGrade.GRADE_2A, 26), (HospitalGrade.GRADE_2B, 12), (HospitalGrade.GRADE_2, 8),
    (HospitalGrade.GRADE_1, 20), (HospitalGrade.UNGRADED, 8),
]
STATUS_WEIGHTS: list[tuple[str, int]] = [
    (InstitutionStatus.ACTIVE, 55), (InstitutionStatus.PROSPECT, 35), (InstitutionStatus.SUSPENDED, 6),
    (InstitutionStatus.TERMINATED, 4),
]

SOURCE_WEIGHTS: list[tuple[str, int]] = [
    (SourceChannel.REP_DEVELOPED, 50), (SourceChannel.REFERRAL, 10), (SourceChannel.TENDER, 15),
    (SourceChannel.DISTRIBUTOR, 15), (SourceChannel.EVENT, 5), (SourceChannel.INBOUND, 5),
]
#: typical beds per hospital grade (scaled ±50% per hospital)
BED_COUNTS = {HospitalGrade.GRADE_3A: 1500, HospitalGrade.GRADE_3B: 900, HospitalGrade.GRADE_3: 700,
              HospitalGrade.GRADE_2A: 400, HospitalGrade.GRADE_2B: 250, HospitalGrade.GRADE_2: 200,
              HospitalGrade.GRADE_1: 60, HospitalGrade.UNGRADED: 40}
#: public institutions register with 12… (事业单位), companies with 91…
PUBLIC_KINDS = {InstitutionKind.PUBLIC_HOSPITAL, InstitutionKind.COMMUNITY_CENTER, InstitutionKind.TOWNSHIP_HOSPITAL,
                InstitutionKind.VILLAGE_CLINIC}
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
LICENCE_PREFIXES = {LicenceKind.BUSINESS: "", LicenceKind.DRUG_TRADING: "药经", LicenceKind.MEDICAL_INSTITUTION: "PDY",
                    LicenceKind.PURCHASE_AUTHORIZATION: "WT", LicenceKind.QUALITY_AGREEMENT: "ZB",
                    LicenceKind.OTHER: "QT"}
LICENCE_ISSUERS = {LicenceKind.BUSINESS: "市场监督管理局", LicenceKind.DRUG_TRADING: "药品监督管理局",
                   LicenceKind.MEDICAL_INSTITUTION: "卫生健康委员会", LicenceKind.PURCHASE_AUTHORIZATION: "",
                   LicenceKind.QUALITY_AGREEMENT: "", LicenceKind.OTHER: ""}
DRUG_CATEGORIES = (ProductCategory.CHEMICAL, ProductCategory.TCM_PATENT, ProductCategory.BIOLOGICAL)
DECISION_ROLES = {ContactTitle.CHIEF_PHYSICIAN: DecisionRole.DECISION_MAKER,
                  ContactTitle.ASSOCIATE_CHIEF_PHYSICIAN: DecisionRole.INFLUENCER,
                  ContactTitle.ATTENDING_PHYSICIAN: DecisionRole.USER, ContactTitle.RESIDENT: DecisionRole.USER,
                  ContactTitle.CHIEF_PHARMACIST: DecisionRole.DECISION_MAKER, ContactTitle.PURCHASING: DecisionRole.PURCHASER}


def _weighted(pairs: list[tuple[Any, int]]) -> tuple[list[Any], list[int]]:
    values = [value for value, _weight in pairs]
    cumulative, total = [], 0
    for _value, weight in pairs:
        total += weight
        cumulative.append(total)
    return values, cumulative


# --- geography ----------------------------------------------------------------------------


@dataclass(frozen=True)
class District:
    code: str
    name: str
    city: str  # display name of the city ("上海市" for Shanghai's districts)
    address_prefix: str  # "四川省成都市武侯区"

    @property
    def short(self) -> str:
        name = self.name
        for suffix in ("新区", "区", "县", "市"):
            if name.endswith(suffix) and len(name) - len(suffix) >= 2:
                return name[: -len(suffix)]
        return name

    @property
    def rural(self) -> bool:
        return self.name.endswith(("县", "市"))

    @property
    def area_code(self) -> str:
        return AREA_CODES.get(self.code[:4]) or AREA_CODES.get(self.code[:2]) or f"0{int(self.code[:4]) % 600 + 310}"


def load_districts() -> dict[str, list[District]]:
    """All districts by code, grouped by nothing yet: callers pick per territory."""
    upper = dict(Division.objects.exclude(level=DivisionLevel.DISTRICT).values_list("code", "name"))
    by_code: dict[str, list[District]] = {}
    rows = Division.objects.filter(level=DivisionLevel.DISTRICT).order_by("code").values_list("code", "name")
    for code, name in rows:
        province = upper.get(code[:2] + "0000", "")
        city = upper.get(code[:4] + "00", "")
        if city in PLACEHOLDER_DIVISIONS or not city:
            city = province
        prefix = province + ("" if city == province else city) + name
        by_code.setdefault(code[:2], []).append(District(code, name, city, prefix))
    return by_code


def territory_districts(user: DemoUser, by_province: dict[str, list[District]]) -> list[District]:
    districts: list[District] = []
    for territory in user.territories:
        prefix = territory[:2] if territory.endswith("0000") else territory[:4]
        districts += [d for d in by_province.get(territory[:2], []) if d.code.startswith(prefix)
                      and not d.code.startswith(user.exclude)]
    if not districts:
        raise CommandError(f"no districts for {user.username}'s territory {user.territories}: run load_divisions")
    return districts


# --- generators ----------------------------------------------------------------------------


def person_name(rng: random.Random) -> tuple[str, str]:
    """A Chinese name (surname and one or two characters) and the gender it suggests."""
    gender = rng.choice("FM")
    pool = GIVEN_FEMALE if gender == "F" else GIVEN_MALE
    given = "".join(rng.choice(pool) for _ in range(rng.choice((1, 2, 2))))
    return rng.choice(SURNAMES) + given, gender


@dataclass
class Owner:
    user: User
    districts: list[District]


@dataclass
class Generator:
    rng: random.Random
    owners: list[Owner]
    owner_weights: list[int]
    used_names: set[str] = field(default_factory=set)
    #: chain headquarters (id, brand) by province code prefix, shared by all generators
    chains: dict[str, list[tuple[int, str]]] = field(default_factory=lambda: defaultdict(list))

    def __post_init__(self) -> None:
        self.today = policy.today()
        self.rules = qualification.Rules.on(self.today)
        self.sources = _weighted(SOURCE_WEIGHTS)
        self.academics = {user.team_id: user for user in User.objects.filter(role=Role.ACADEMIC_REP)}
        self.kinds = _weighted(KIND_WEIGHTS)
        self.grades = _weighted(PUBLIC_GRADES)
        self.statuses = _weighted(STATUS_WEIGHTS)
        total, self.owner_cumulative = 0, []
        for weight in self.owner_weights:
            total += weight
            self.owner_cumulative.append(total)

    def pick(self, table: tuple[list[Any], list[int]]) -> Any:
        return self.rng.choices(table[0], cum_weights=table[1])[0]

    def person_name(self) -> tuple[str, str]:
        return person_name(self.rng)

    def mobile(self) -> str:
        return self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"

    def landline(self, district: District) -> str:
        return f"{district.area_code}-{self.rng.randint(2, 8)}{self.rng.randrange(10**7):07d}"

    def road(self) -> str:
        return self.rng.choice(ROADS) + self.rng.choice(ROAD_SUFFIXES)

    def address(self, district: District, road: str = "") -> str:
        road = road or self.road()
        return f"{district.address_prefix}{road}{self.rng.randint(1, 999)}号"

    def unique(self, name: str, district: District) -> str:
        if name in self.used_names:
            candidate = f"{name}（{district.short}）"
            number = 2
            while candidate in self.used_names:
                candidate = f"{name}（{district.short}{number}）"
                number += 1
            name = candidate
        self.used_names.add(name)
        return name

    def owner(self) -> Owner:
        return self.rng.choices(self.owners, cum_weights=self.owner_cumulative)[0]

    def institution(self, kind: str | None = None) -> Institution:
        owner = self.owner()
        district = self.rng.choice(owner.districts)
        kind = kind or self.pick(self.kinds)
        if kind == InstitutionKind.TOWNSHIP_HOSPITAL and not district.rural:
            kind = InstitutionKind.COMMUNITY_CENTER
        if kind == InstitutionKind.VILLAGE_CLINIC and not district.rural:
            kind = InstitutionKind.CLINIC
        if kind == InstitutionKind.CHAIN_STORE and not self.chains:
            kind = InstitutionKind.PHARMACY
        grade, short_name, parent_id, road = "", "", None, ""
        city_short = district.city.removesuffix("市") if len(district.city) > 2 else district.city
        rng = self.rng
        if kind == InstitutionKind.PUBLIC_HOSPITAL:
            grade = self.pick(self.grades)
            if grade in (HospitalGrade.GRADE_3A, HospitalGrade.GRADE_3B, HospitalGrade.GRADE_3):
                if rng.random() < 0.2:
                    name = f"{city_short}医科大学附属第{CN_NUMBERS[rng.randrange(4)]}医院"
                else:
                    name = district.city + rng.choice(CITY_HOSPITALS)
            elif grade == HospitalGrade.GRADE_1:
                name = f"{district.short}{rng.choice(STREETS)}医院"
            else:
                prefix = district.name if district.rural else district.city + district.name
                name = prefix + rng.choice(DISTRICT_HOSPITALS)
        elif kind == InstitutionKind.PRIVATE_HOSPITAL:
            grade = rng.choice((HospitalGrade.UNGRADED, HospitalGrade.UNGRADED, HospitalGrade.GRADE_1,
                                HospitalGrade.GRADE_2))
            name = city_short + rng.choice(BRANDS) + rng.choice(PRIVATE_HOSPITALS)
        elif kind == InstitutionKind.COMMUNITY_CENTER:
            grade = HospitalGrade.GRADE_1
            name = f"{district.city if not district.rural else ''}{district.name}{rng.choice(STREETS)}街道社区卫生服务中心"
        elif kind == InstitutionKind.TOWNSHIP_HOSPITAL:
            grade = rng.choice((HospitalGrade.GRADE_1, HospitalGrade.UNGRADED))
            name = f"{district.name}{rng.choice(TOWNS)}镇卫生院"
        elif kind == InstitutionKind.VILLAGE_CLINIC:
            name = f"{district.name}{rng.choice(TOWNS)}镇{rng.choice(VILLAGES)}村卫生室"
        elif kind == InstitutionKind.CLINIC:
            if rng.random() < 0.5:
                name = self.person_name()[0] + rng.choice(CLINIC_KINDS)
            else:
                name = district.short + rng.choice(BRANDS) + rng.choice(CLINIC_KINDS)
        elif kind == InstitutionKind.CHAIN_HQ:
            brand = rng.choice(BRANDS)
            name = f"{city_short}{brand}大药房连锁有限公司"
            short_name = f"{brand}大药房"
        elif kind == InstitutionKind.CHAIN_STORE:
            parent_id, brand = self.chain_for(district)
            road = self.road()
            name = f"{brand}（{district.short}{road}店）"
        elif kind == InstitutionKind.PHARMACY:
            name = district.short + rng.choice(BRANDS) + rng.choice(("大药房", "药店", "医药超市", "国药馆"))
        elif kind == InstitutionKind.DISTRIBUTOR:
            name = city_short + rng.choice(BRANDS) + rng.choice(DISTRIBUTOR_SUFFIXES)
        else:
            name = district.city + (district.name if district.rural else "") + rng.choice(OTHER_NAMES)
        status = self.pick(self.statuses)
        hospital = kind in HOSPITAL_KINDS
        institution = Institution(
            name=self.unique(name, district), short_name=short_name, kind=kind, hospital_grade=grade,
            status=status, parent_id=parent_id, division_id=district.code,
            province_code=district.code[:2] + "0000", city_code=district.code[:4] + "00",
            address=self.address(district, road), phone=self.landline(district), owner=owner.user, team_id=owner.user.team_id,
            uscc=self.uscc(district, kind) if rng.random() < 0.8 else "",
            legal_representative=self.person_name()[0] if kind != InstitutionKind.CHAIN_STORE else "",
            bed_count=BED_COUNTS.get(grade, 20) * rng.randint(5, 15) // 10 if hospital else None,
            annual_outpatient_visits=BED_COUNTS.get(grade, 20) * rng.randint(300, 900) if hospital else None,
            source_channel=self.pick(self.sources),
            first_cooperation_date=(self.today - datetime.timedelta(days=rng.randint(30, 365 * 9))
                                    if status != InstitutionStatus.PROSPECT else None),
            purchase_frequency=rng.choice(PurchaseFrequency.values) if status == InstitutionStatus.ACTIVE else "",
            product_awareness=(ProductAwareness.REGULAR if status == InstitutionStatus.ACTIVE
                               else rng.choice(ProductAwareness.values)),
            academic_owner=self.academic_for(owner.user) if hospital else None,
        )
        institution.search_key = search.institution_key(institution)
        return institution

    def uscc(self, district: District, kind: str) -> str:
        """A valid 统一社会信用代码: 12 (public institution) or 91 (company), the district, a random body."""
        body = ("12" if kind in PUBLIC_KINDS else "91") + district.code + "".join(
            self.rng.choice(USCC_ALPHABET) for _ in range(9))
        return body + uscc.calc_check_digit(body)

    def academic_for(self, owner: User) -> User | None:
        return self.academics.get(owner.team_id) if self.rng.random() < 0.5 else None

    def licences(self, institution: Institution) -> list[Licence]:
        """The institution's required licences, mostly approved and valid; some expiring, expired,
        pending or missing, so every qualification badge shows up in the demo."""
        rng, today = self.rng, self.today
        result = []
        for kind in self.rules.required.get(institution.kind, []):
            roll = rng.random()
            if roll < 0.04:
                continue  # missing
            valid_to = today + datetime.timedelta(days=rng.randint(91, 5 * 365))
            if roll < 0.10:
                valid_to = today + datetime.timedelta(days=rng.randint(1, 90))
            elif roll < 0.14:
                valid_to = today - datetime.timedelta(days=rng.randint(1, 400))
            review = ReviewStatus.PENDING if 0.14 <= roll < 0.17 else ReviewStatus.APPROVED
            verification = kind == LicenceKind.MEDICAL_INSTITUTION
            result.append(Licence(
                institution=institution, kind=kind, number=f"{LICENCE_PREFIXES[kind]}{rng.randrange(10**10):010d}",
                issuer=LICENCE_ISSUERS[kind], valid_from=valid_to - datetime.timedelta(days=5 * 365),
                valid_to=None if verification else valid_to, next_verification_on=valid_to if verification else None,
                categories=list(DRUG_CATEGORIES) if kind == LicenceKind.DRUG_TRADING else [],
                purchaser_name=self.person_name()[0] if kind == LicenceKind.PURCHASE_AUTHORIZATION else "",
                review_status=review,
            ))
        result_status = qualification.evaluate(institution, today, result, self.rules)
        institution.qualification_status, institution.qualification_until = result_status.status, result_status.until
        return result

    def chain_for(self, district: District) -> tuple[int, str]:
        same_province = self.chains.get(district.code[:2])
        pool = same_province or [chain for chains in self.chains.values() for chain in chains]
        return self.rng.choice(pool)

    def contacts(self, institution: Institution) -> Iterator[Contact]:
        rng, kind = self.rng, institution.kind
        # Hospitals: clinical departments, pharmacy and purchasing; a pharmacy: its pharmacist or two.
        if kind in (InstitutionKind.PUBLIC_HOSPITAL, InstitutionKind.PRIVATE_HOSPITAL):
            count = rng.randint(4, 14)
        elif kind in (InstitutionKind.COMMUNITY_CENTER, InstitutionKind.TOWNSHIP_HOSPITAL):
            count = rng.randint(2, 4)
        elif kind in (InstitutionKind.CHAIN_HQ, InstitutionKind.DISTRIBUTOR):
            count = rng.choice((2, 2, 3))
        elif kind == InstitutionKind.OTHER:
            count = 1
        else:
            count = rng.choice((1, 2))
        for index in range(count):
            name, gender = self.person_name()
            if kind in (InstitutionKind.CHAIN_HQ, InstitutionKind.DISTRIBUTOR):
                department, title = ("采购部", ContactTitle.PURCHASING) if index == 0 else ("质量管理部", ContactTitle.PHARMACIST)
            elif kind in (InstitutionKind.CHAIN_STORE, InstitutionKind.PHARMACY):
                department, title = "", ContactTitle.PHARMACIST
            elif kind in (InstitutionKind.PUBLIC_HOSPITAL, InstitutionKind.PRIVATE_HOSPITAL) and index == 1:
                department, title = "药剂科", rng.choice(PHARMACIST_TITLES)
            elif kind in (InstitutionKind.PUBLIC_HOSPITAL, InstitutionKind.PRIVATE_HOSPITAL) and index == 3:
                department, title = rng.choice(("采购科", "设备科")), ContactTitle.PURCHASING
            elif kind in (InstitutionKind.COMMUNITY_CENTER, InstitutionKind.TOWNSHIP_HOSPITAL,
                          InstitutionKind.VILLAGE_CLINIC, InstitutionKind.CLINIC):
                department = rng.choice(("全科", "全科", "药房")) if index == 0 else "药房"
                title = (ContactTitle.PHARMACIST if department == "药房"
                         else rng.choice((ContactTitle.ATTENDING_PHYSICIAN, ContactTitle.RESIDENT)))
            elif kind == InstitutionKind.OTHER:
                department, title = "办公室", ContactTitle.OTHER
            else:
                department, title = rng.choice(CLINICAL_DEPARTMENTS), rng.choice(PHYSICIAN_TITLES)
            contact = Contact(name=name, gender=gender, institution=institution, department=department, title=title,
                              mobile=self.mobile(), is_key_contact=index == 0 and rng.random() < 0.5,
                              decision_role=DECISION_ROLES.get(title, ""))
            contact.search_key = search.contact_key(contact)
            yield contact


# --- command ---------------------------------------------------------------------------------


class Command(BaseCommand):
    help = "Create a deterministic Chinese demo company: teams, one user per role, institutions and contacts."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--scale", type=int, default=600, help="number of institutions (default 600)")
        parser.add_argument("--seed", type=int, default=2025, help="random seed (same seed, same data)")
        parser.add_argument("--if-empty", action="store_true", help="do nothing when any institution exists")
        parser.add_argument("--bulk", action="store_true",
                            help=f"insert with executemany and one audit entry per batch (automatic above {BULK_SCALE})")
        parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1),
                            help="generator processes for a bulk load (default: CPUs up to 4; 0 = none)")

    def handle(self, *args: Any, scale: int, seed: int, if_empty: bool, bulk: bool = False,
               workers: int = 0, **options: Any) -> None:
        if if_empty and Institution.objects.exists():
            self.stdout.write("seed_demo: institutions already exist; nothing to do (--if-empty)")
            return
        if scale < 1:
            raise CommandError("--scale must be at least 1")
        started = time.monotonic()
        audit_before = AuditEntry.objects.count()
        users = self.create_org()
        by_province = load_districts()
        if scale >= NATIONAL_SCALE:
            owners = self.create_national_org(users, by_province, scale, random.Random(f"{seed}:org"))
        else:
            owners = [(Owner(users[u.username], territory_districts(u, by_province)), u.weight)
                      for u in DEMO_USERS if u.weight]
        shards = self.plan(owners, scale, seed)
        bulk = bulk or scale > BULK_SCALE
        writer = seeding.BulkWriter(users["steward"]) if bulk else seeding.AuditedWriter(users["steward"])

        headquarters, contacts = seeding.write_headquarters(shards, writer)
        for institution, pk in headquarters:
            shards[0].generator.chains[institution.province_code[:2]].append((pk, institution.short_name))

        def progress(done: int, total: int) -> None:
            if total > seeding.ROUND:
                self.stdout.write(f"  … {done + len(headquarters)}/{scale} institutions "
                                  f"({time.monotonic() - started:.0f} s)")

        institutions, more_contacts = seeding.load(shards, writer, workers=workers if bulk else 0, progress=progress)
        institutions, contacts = institutions + len(headquarters), contacts + more_contacts
        elapsed = time.monotonic() - started
        self.stdout.write(self.style.SUCCESS(
            f"seed_demo: {User.objects.count()} users, {Team.objects.count()} teams, {institutions} institutions, "
            f"{contacts} contacts, {AuditEntry.objects.count() - audit_before} audit entries "
            f"in {elapsed:.1f} s (seed {seed}{', bulk' if bulk else ''})"))
        self.stdout.write(f"demo logins: {', '.join(u.username for u in DEMO_USERS)} — password {DEMO_PASSWORD}")

    def plan(self, owners: list[tuple[Owner, int]], scale: int, seed: int) -> list[seeding.Shard]:
        """One shard per province: its owners, its share of ``scale`` and of the chain headquarters."""
        by_province: dict[str, list[tuple[Owner, int]]] = defaultdict(list)
        for owner, weight in owners:
            provinces = {district.code[:2] for district in owner.districts}
            if len(provinces) != 1:
                raise CommandError(f"{owner.user.username}'s territory spans provinces {sorted(provinces)}")
            by_province[provinces.pop()].append((owner, weight))
        provinces = sorted(by_province)
        weights = [sum(weight for _owner, weight in by_province[province]) for province in provinces]
        counts = seeding.allocate(scale, weights)
        headquarters = seeding.allocate(min(scale, max(1, round(scale * 0.006))), weights)
        chains: dict[str, list[tuple[int, str]]] = defaultdict(list)  # filled once the headquarters exist
        shards = []
        for province, count, hq_count in zip(provinces, counts, headquarters, strict=True):
            if count:
                members = by_province[province]
                generator = Generator(random.Random(f"{seed}:{province}"), [owner for owner, _ in members],
                                      [weight for _, weight in members], chains=chains)
                shards.append(seeding.Shard(province, generator, count, min(hq_count, count)))
        return shards

    def create_national_org(self, users: dict[str, User], by_province: dict[str, list[District]], scale: int,
                            rng: random.Random) -> list[tuple[Owner, int]]:
        """A team per city under its 大区: a manager (who holds the uncovered institutions), an academic rep
        and a rep per ``BOOK`` covered institutions; the named reps keep their territories with a real book."""
        owners = [(Owner(users[u.username], territory_districts(u, by_province)), u.weight * BOOK // 10)
                  for u in DEMO_USERS if u.weight]
        region_of = {province: region for region, provinces in NATIONAL_REGIONS.items() for province in provinces}
        cities: dict[tuple[str, str], list[District]] = defaultdict(list)
        for province, districts in sorted(by_province.items()):
            for district in districts if province in region_of else ():
                cities[(province, district.city)].append(district)
        total = sum(len(districts) for districts in cities.values())
        divisions = Division.objects.in_bulk({d.code[:4] + "00" for districts in cities.values() for d in districts})
        with transaction.atomic():
            sales = Team.objects.get(name="销售部", parent=None)
            regions = {name: self.team(name, sales) for name in NATIONAL_REGIONS}
            for (province, city), districts in sorted(cities.items(), key=lambda item: item[1][0].code):
                key = districts[0].code[:4]
                expected = scale * len(districts) / total
                reps = round(expected * COVERAGE / BOOK)
                team = self.team(f"{city}组", regions[region_of[province]])
                territory = sorted({divisions[d.code[:4] + "00"] for d in districts if d.code[:4] + "00" in divisions},
                                   key=lambda division: division.code)
                manager = self.national_user(f"manager_{key}", Role.MANAGER, team, territory, rng)
                if team.manager_id is None:
                    audited_update(team, actor=None, changes={"manager": manager})
                self.national_user(f"academic_{key}", Role.ACADEMIC_REP, team, [], rng)
                for number in range(1, reps + 1):
                    rep = self.national_user(f"rep_{key}_{number:02d}", Role.REP, team, territory, rng)
                    owners.append((Owner(rep, districts), BOOK))
                owners.append((Owner(manager, districts), max(1, round(expected - reps * BOOK))))
        return owners

    @staticmethod
    def team(name: str, parent: Team) -> Team:
        return Team.objects.filter(name=name, parent=parent).first() or create_team(actor=None, name=name,
                                                                                     parent=parent)

    @staticmethod
    def national_user(username: str, role: str, team: Team, territories: list[Division], rng: random.Random) -> User:
        """A generated colleague of the demo users: no password (an admin sets one to log in as them)."""
        full_name = person_name(rng)[0]  # drawn even when the user exists, so later names do not shift
        return User.objects.filter(username=username).first() or create_user(
            actor=None, username=username, full_name=full_name, role=role, team=team,
            email=f"{username}@demo.pharmacrm.cn", territories=territories)

    def create_org(self) -> dict[str, User]:
        """Teams and demo users; existing ones (same name / username) are reused."""
        teams: dict[str, Team] = {}
        with transaction.atomic():
            for name, parent_name in TEAMS:
                parent = teams[parent_name] if parent_name else None
                existing = Team.objects.filter(name=name, parent=parent).first()
                teams[name] = existing or create_team(actor=None, name=name, parent=parent)
            codes = {code for u in DEMO_USERS for code in u.territories}
            divisions = Division.objects.in_bulk(codes)
            missing = codes - set(divisions)
            if missing:
                raise CommandError(f"divisions {sorted(missing)} are missing: run `manage.py load_divisions`")
            users: dict[str, User] = {}
            for spec in DEMO_USERS:
                existing_user = User.objects.filter(username=spec.username).first()
                users[spec.username] = existing_user or create_user(
                    actor=None, username=spec.username, full_name=spec.full_name, role=spec.role,
                    team=teams[spec.team], email=f"{spec.username}@demo.pharmacrm.cn", password=DEMO_PASSWORD,
                    territories=[divisions[code] for code in spec.territories])
            east = teams["华东一组"]
            if east.manager_id is None:
                audited_update(east, actor=None, changes={"manager": users["manager_east"]})
        return users
