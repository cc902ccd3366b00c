"""Distributor flow data (流向): import sell-out files, match their names to master data, keep a mapping queue.

A flow file lists what a distributor delivered to which terminal: date, distributor, terminal, product,
quantity, amount, batch. It runs through the spreadsheet import engine (``core.imports``: upload, column
mapping, dry run, commit; .xlsx or .csv in UTF-8 or GBK). Each name is matched in this order:

* terminals — USCC, a steward's remembered mapping, exact name (narrowed by city when several share it),
  former name (alias), then a fuzzy name match within the same city that is confident and unambiguous;
* distributors — customer code, USCC, remembered mapping, exact name, former name;
* products — product code, NMPA approval number, remembered mapping, exact generic or brand name (with the
  specification column when several strengths share it).

A complete row becomes a purchase (``sales.purchases``). A row with a name nobody could match waits in
``FlowPendingRow`` under an open ``FlowMapping``; a steward resolves the mapping once, the waiting rows
become purchases, and later files use the mapping. A line imported twice is recognised by its key and
skipped, so re-sending a corrected file adds only the new lines.
"""

from __future__ import annotations

import datetime
import decimal
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import transaction
from django.db.models import Count, Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rapidfuzz import fuzz, process

from pharmacrm.core import hanzi, imports, policy
from pharmacrm.core.audit import audited_create, audited_update
from pharmacrm.core.imports import Importer, Outcome
from pharmacrm.core.money import yuan_to_fen
from pharmacrm.core.tabular import Column
from pharmacrm.core.validators import normalize_approval_number
from pharmacrm.customers.models import Institution
from pharmacrm.org.models import Division, DivisionLevel
from pharmacrm.org.scope import authorize
from pharmacrm.sales import purchases
from pharmacrm.sales.choices import MappingKind, MappingStatus, PurchaseSource
from pharmacrm.sales.models import FlowMapping, FlowPendingRow, Product

FUZZY_THRESHOLD = policy.declare(
    "flow.fuzzy_threshold", default=90, label=gettext_lazy("Fuzzy terminal match: lowest similarity accepted (%)"),
    help_text=gettext_lazy("A flow-data terminal name this similar to exactly one institution in the same city is "
                           "matched to it; anything less waits in the mapping queue for a steward."),
    field_factory=lambda: forms.IntegerField(validators=[MinValueValidator(50), MaxValueValidator(100)]))
#: the runner-up must trail the best candidate by this much, or the match is ambiguous
FUZZY_MARGIN = 3
#: candidates below this similarity are not even suggested to the steward
SUGGESTION_FLOOR = 60
MAX_QUANTITY = 100_000_000


def name_key(name: str) -> str:
    return hanzi.normalize(name)[:200]


#: words that tell a company's legal form, not which terminal it is (上海华氏大药房有限公司徐汇店 = 上海华氏大药房徐汇店)
LEGAL_FORMS = ("股份有限公司", "有限责任公司", "有限公司", "分公司", "连锁")


def fuzzy_key(name: str) -> str:
    """What the fuzzy match compares: the normalised name without its legal-form words."""
    key = name_key(name)
    for word in LEGAL_FORMS:
        key = key.replace(word, "")
    return key


def mapping_key(name: str, city: str = "") -> str:
    return f"{name_key(name)}|{name_key(city)}"


@dataclass(frozen=True, slots=True)
class Match:
    """What a name in the file resolved to: a record id, or the mapping it waits under (with a suggestion)."""

    target_id: int | None
    name: str = ""
    city: str = ""
    suggestion_id: int | None = None
    score: int | None = None

    @property
    def key(self) -> str:
        return mapping_key(self.name, self.city)


@dataclass(slots=True)
class FlowRow:
    purchased_on: Any
    quantity: int
    amount_fen: int
    batch_number: str
    terminal: Match
    distributor: Match
    product: Match
    line_key: int
    duplicate: bool = False

    @property
    def complete(self) -> bool:
        return None not in (self.terminal.target_id, self.distributor.target_id, self.product.target_id)


class Cities:
    """City names as flow files write them (上海, 上海市, 苏州市) → the city code institutions carry."""

    def __init__(self) -> None:
        self.codes: dict[str, set[str]] = defaultdict(set)
        for division in Division.objects.filter(level__in=[DivisionLevel.PROVINCE, DivisionLevel.CITY]):
            code = division.code[:4] + "00" if division.level == DivisionLevel.CITY else None
            if division.level == DivisionLevel.PROVINCE:
                if division.name.endswith("市"):  # municipalities: 上海 is a province whose city is 310100
                    code = division.code[:2] + "0100"
                else:
                    continue
            for name in (division.name, division.name.removesuffix("市").removesuffix("地区").removesuffix("盟")):
                self.codes[name_key(name)].add(code)

    def code(self, name: str) -> str | None:
        codes = self.codes.get(name_key(name), set())
        return next(iter(codes)) if len(codes) == 1 else None


class Matcher:
    """Resolves names to ids, each distinct name once per run; lookups batched per chunk."""

    def __init__(self, actor: Any) -> None:
        self.actor = actor
        self.institutions = Institution.objects.visible_to(actor).live()
        self.cities = Cities()
        self.threshold = int(policy.get("flow.fuzzy_threshold"))
        self.terminals: dict[tuple[str, str, str], Match] = {}
        self.distributors: dict[str, Match] = {}
        self.products: dict[tuple[str, str], Match] = {}
        self._aliases: dict[str, set[int]] | None = None
        self._city_names: dict[str, tuple[list[str], list[int]]] = {}
        self._catalogue()

    # --- products: a small catalogue, indexed in memory ---

    def _catalogue(self) -> None:
        #: code or approval number → products (authoritative); names → products (narrowed by the specification)
        self.product_codes: dict[str, set[int]] = defaultdict(set)
        self.product_names: dict[str, set[int]] = defaultdict(set)
        self.product_spec: dict[int, str] = {}
        for product in Product.objects.all():
            for text in (product.code, product.approval_number):
                self.product_codes[name_key(text)].add(product.pk)
            for text in (product.generic_name, product.brand_name, f"{product.generic_name}{product.strength}",
                         f"{product.brand_name}{product.strength}" if product.brand_name else ""):
                if text:
                    self.product_names[name_key(text)].add(product.pk)
            self.product_spec[product.pk] = name_key(f"{product.strength}{product.pack}")

    def product(self, name: str, spec: str) -> Match:
        cache_key = (name, spec)
        if cache_key not in self.products:
            self.products[cache_key] = self._product(name, spec)
        return self.products[cache_key]

    def _product(self, name: str, spec: str) -> Match:
        try:
            code = name_key(normalize_approval_number(name))
        except ValidationError:
            code = name_key(name)
        found = self.product_codes.get(code, set())
        if len(found) != 1:
            found = self.product_names.get(name_key(name), set()) | self.product_names.get(name_key(name + spec), set())
            wanted = name_key(spec)
            if wanted:  # a specification that fits none of them means a product we cannot tell: ask the steward
                found = {pk for pk in found if wanted in self.product_spec[pk] or self.product_spec[pk] in wanted}
        if len(found) == 1:
            return Match(next(iter(found)))
        label = f"{name} {spec}".strip()
        remembered = self._remembered(MappingKind.PRODUCT, [mapping_key(label)])
        return remembered.get(mapping_key(label)) or Match(None, name=label)

    # --- institutions ---

    def _remembered(self, kind: str, keys: list[str]) -> dict[str, Match]:
        found = {}
        for mapping in FlowMapping.objects.filter(kind=kind, key__in=keys, status=MappingStatus.RESOLVED):
            found[mapping.key] = Match(mapping.product_id if kind == MappingKind.PRODUCT else mapping.institution_id)
        return found

    def aliases(self) -> dict[str, set[int]]:
        """Former names → institutions, built on first need: one pass over the rows that have any."""
        if self._aliases is None:
            self._aliases = defaultdict(set)
            for pk, names in self.institutions.exclude(aliases=[]).values_list("pk", "aliases").iterator(5000):
                for alias in names or []:
                    self._aliases[name_key(alias)].add(pk)
        return self._aliases

    def _city_candidates(self, city_code: str) -> tuple[list[str], list[int]]:
        if city_code not in self._city_names:
            rows = list(self.institutions.filter(city_code=city_code).values_list("name", "pk").iterator(5000))
            self._city_names[city_code] = ([fuzzy_key(name) for name, _pk in rows], [pk for _name, pk in rows])
        return self._city_names[city_code]

    def resolve_terminals(self, wanted: set[tuple[str, str, str]]) -> None:
        wanted = {key for key in wanted if key not in self.terminals}
        if not wanted:
            return
        usccs = {uscc for _name, _city, uscc in wanted if uscc}
        by_uscc = dict(self.institutions.filter(uscc__in=usccs).values_list("uscc", "pk")) if usccs else {}
        names = {name for name, _city, _uscc in wanted}
        by_name: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for pk, name, city_code in self.institutions.filter(name__in=names).values_list("pk", "name", "city_code"):
            by_name[name].append((pk, city_code))
        remembered = self._remembered(MappingKind.TERMINAL, [mapping_key(name, city) for name, city, _u in wanted])
        for name, city, uscc in wanted:
            city_code = self.cities.code(city) if city else None
            if uscc and uscc in by_uscc:
                match = Match(by_uscc[uscc])
            elif mapping_key(name, city) in remembered:
                match = remembered[mapping_key(name, city)]
            else:
                match = self._by_name(name, city, city_code, by_name.get(name, []))
            self.terminals[(name, city, uscc)] = match

    def _by_name(self, name: str, city: str, city_code: str | None, exact: list[tuple[int, str]]) -> Match:
        if city_code and len(exact) > 1:
            exact = [row for row in exact if row[1] == city_code]
        if len(exact) == 1:
            return Match(exact[0][0])
        aliased = self.aliases().get(name_key(name), set())
        if len(aliased) == 1:
            return Match(next(iter(aliased)))
        if not city_code:
            return Match(None, name=name, city=city)
        names, ids = self._city_candidates(city_code)
        best = process.extract(fuzzy_key(name), names, scorer=fuzz.ratio, limit=2, score_cutoff=SUGGESTION_FLOOR)
        if not best:
            return Match(None, name=name, city=city)
        score, pk = round(best[0][1]), ids[best[0][2]]
        runner_up = best[1][1] if len(best) > 1 else 0
        if score >= self.threshold and best[0][1] - runner_up >= FUZZY_MARGIN:
            return Match(pk)
        return Match(None, name=name, city=city, suggestion_id=pk, score=score)

    def resolve_distributors(self, wanted: set[str]) -> None:
        wanted = {name for name in wanted if name not in self.distributors}
        if not wanted:
            return
        found: dict[str, set[int]] = defaultdict(set)
        # one indexed query per column (an OR of IN lists makes SQLite scan every institution)
        for column, values in (("code", wanted), ("uscc", {name.upper() for name in wanted}), ("name", wanted)):
            for pk, text in self.institutions.filter(**{f"{column}__in": values}).values_list("pk", column):
                found[text].add(pk)
        remembered = self._remembered(MappingKind.DISTRIBUTOR, [mapping_key(name) for name in wanted])
        for name in wanted:
            ids = found.get(name, set()) | found.get(name.upper(), set())
            if len(ids) != 1 and mapping_key(name) in remembered:
                self.distributors[name] = remembered[mapping_key(name)]
                continue
            if not ids:
                ids = self.aliases().get(name_key(name), set())
            self.distributors[name] = Match(next(iter(ids))) if len(ids) == 1 else Match(None, name=name)


# --- the importer ---------------------------------------------------------------------------------------------


@imports.register
class FlowImporter(Importer):
    kind = "sales.flow"
    label = gettext_lazy("Distributor flow data")
    permission = "sales.import_flow"
    follow_up_url = "sales:flow_mappings"
    follow_up_label = gettext_lazy("Open the mapping queue")
    columns = (
        Column("purchased_on", "销售日期", ("日期", "出库日期", "开票日期", "sale date", "date"), required=True),
        Column("distributor", "经销商", ("商业公司", "配送商", "经销商名称", "distributor"), required=True),
        Column("terminal", "终端名称", ("客户名称", "购货单位", "终端", "terminal"), required=True),
        Column("terminal_uscc", "终端统一社会信用代码", ("统一社会信用代码", "信用代码", "uscc")),
        Column("city", "终端城市", ("城市", "地市", "city")),
        Column("product", "产品", ("产品名称", "品名", "药品名称", "产品编码", "product")),
        Column("specification", "规格", ("品规", "specification", "spec")),
        Column("quantity", "数量", ("销售数量", "quantity"), required=True),
        Column("amount", "金额（元）", ("金额", "销售金额", "amount"), required=True),
        Column("batch_number", "批号", ("生产批号", "batch")),
    )
    examples = (
        {"purchased_on": "2026-10-08", "distributor": "国药控股上海有限公司", "terminal": "上海市第一人民医院",
         "city": "上海", "product": "阿托伐他汀钙片", "specification": "20mg", "quantity": "120",
         "amount": "3456.00", "batch_number": "B2409011"},
        {"purchased_on": "2026-10-09", "distributor": "国药控股上海有限公司", "terminal": "上海市第一人民医院",
         "city": "上海", "product": "阿托伐他汀钙片", "specification": "20mg", "quantity": "-10",
         "amount": "-288.00", "batch_number": "B2409011"},
    )

    @classmethod
    def notes(cls) -> list[str]:
        return [_("One row per delivery line. Returns are negative quantities and amounts."),
                _("Terminals are matched by USCC, exact name, former name, then a close name in the same city; "
                  "rows whose names cannot be matched wait in the mapping queue until a data steward maps them."),
                _("Importing the same file again adds only lines not imported before.")]

    def start(self) -> None:
        self.matcher = Matcher(self.actor)
        self.occurrences: Counter[tuple[Any, ...]] = Counter()
        self.stats: Counter[str] = Counter()
        self.waiting_mappings: set[tuple[str, str]] = set()
        self.touched: set[int] = set()

    def check(self, chunk: list[Outcome]) -> None:
        parsed = [(outcome, self._parse(outcome)) for outcome in chunk]
        parsed = [(outcome, values) for outcome, values in parsed if outcome.ok]
        self.matcher.resolve_terminals({(values["terminal"], values["city"], values["uscc"]) for _o, values in parsed})
        self.matcher.resolve_distributors({values["distributor"] for _o, values in parsed})
        for outcome, values in parsed:
            identity = tuple(values.values())
            self.occurrences[identity] += 1
            outcome.payload = FlowRow(
                purchased_on=values["purchased_on"], quantity=values["quantity"], amount_fen=values["amount_fen"],
                batch_number=values["batch_number"],
                terminal=self.matcher.terminals[(values["terminal"], values["city"], values["uscc"])],
                distributor=self.matcher.distributors[values["distributor"]],
                product=self.matcher.product(values["product"], values["specification"]),
                line_key=purchases.line_key("flow", *identity, self.occurrences[identity]))
        rows = [outcome.payload for outcome, _values in parsed]
        keys = [row.line_key for row in rows]
        seen = purchases.existing_keys(keys) | set(
            FlowPendingRow.objects.filter(line_key__in=keys).values_list("line_key", flat=True))
        for row in rows:
            row.duplicate = row.line_key in seen
            if row.duplicate:
                self.stats["duplicate"] += 1
            elif row.complete:
                self.stats["matched"] += 1
            else:
                self.stats["waiting"] += 1
                for kind, match in self._unmatched(row):
                    self.waiting_mappings.add((kind, match.key))

    def _parse(self, outcome: Outcome) -> dict[str, Any]:
        values = outcome.values
        day = imports.parse_date(outcome, "purchased_on")
        if day is None and outcome.ok:
            outcome.error("purchased_on", _("Enter the date of the sale."))
        if day is not None and day > policy.today() + datetime.timedelta(days=1):
            outcome.error("purchased_on", _("A sale cannot be in the future."))
        quantity = self._quantity(outcome)
        amount = self._amount(outcome)
        terminal = imports.limit_text(outcome, "terminal", 200)
        distributor = imports.limit_text(outcome, "distributor", 200)
        product = imports.limit_text(outcome, "product", 200)
        for key, text in (("terminal", terminal), ("distributor", distributor), ("product", product)):
            if not text and not any(problem.column == key for problem in outcome.problems):
                outcome.error(key, _("This column cannot be empty."))
        uscc = values.get("terminal_uscc", "").strip().upper()
        if len(uscc) > 18:
            outcome.error("terminal_uscc", _("A USCC has 18 characters."))
        return {"purchased_on": day, "distributor": distributor, "terminal": terminal, "uscc": uscc,
                "city": imports.limit_text(outcome, "city", 50), "product": product,
                "specification": imports.limit_text(outcome, "specification", 100), "quantity": quantity,
                "amount_fen": amount, "batch_number": imports.limit_text(outcome, "batch_number", 40)}

    @staticmethod
    def _quantity(outcome: Outcome) -> int:
        text = outcome.values.get("quantity", "").replace(",", "").replace("，", "").strip()
        try:
            number = decimal.Decimal(text)
        except decimal.InvalidOperation:
            number = None
        if number is None or not number.is_finite() or number != number.to_integral_value():
            outcome.error("quantity", _("Enter a whole number (negative for a return)."))
            return 0
        if number == 0 or abs(number) > MAX_QUANTITY:
            outcome.error("quantity", _("Enter a quantity other than 0, at most %(max)s.") % {"max": MAX_QUANTITY})
            return 0
        return int(number)

    @staticmethod
    def _amount(outcome: Outcome) -> int:
        try:
            return yuan_to_fen(outcome.values.get("amount", "").strip())
        except ValidationError as error:
            outcome.error("amount", error.messages[0])
            return 0

    @staticmethod
    def _unmatched(row: FlowRow) -> list[tuple[str, Match]]:
        return [(kind, match) for kind, match in ((MappingKind.TERMINAL, row.terminal),
                                                  (MappingKind.DISTRIBUTOR, row.distributor),
                                                  (MappingKind.PRODUCT, row.product)) if match.target_id is None]

    def write(self, chunk: list[Outcome]) -> tuple[int, int]:
        rows = [outcome.payload for outcome in chunk if not outcome.payload.duplicate]
        job_id = self.job.pk
        facts = [purchases.Fact(institution_id=row.terminal.target_id, product_id=row.product.target_id,
                                purchased_on=row.purchased_on, quantity=row.quantity, amount_fen=row.amount_fen,
                                source=PurchaseSource.FLOW, line_key=row.line_key,
                                distributor_id=row.distributor.target_id, batch_number=row.batch_number,
                                import_job_id=job_id)
                 for row in rows if row.complete]
        written = purchases.add(facts)
        waiting = [(outcome, outcome.payload) for outcome in chunk
                   if not outcome.payload.duplicate and not outcome.payload.complete]
        if waiting:
            mappings = self._mappings([match for _o, row in waiting for match in self._unmatched(row)])
            FlowPendingRow._base_manager.bulk_create([
                FlowPendingRow(import_job_id=job_id, row_number=outcome.number, purchased_on=row.purchased_on,
                               quantity=row.quantity, amount_fen=row.amount_fen, batch_number=row.batch_number,
                               institution_id=row.terminal.target_id, distributor_id=row.distributor.target_id,
                               product_id=row.product.target_id, line_key=row.line_key,
                               terminal_mapping=mappings.get((MappingKind.TERMINAL, row.terminal.key)),
                               distributor_mapping=mappings.get((MappingKind.DISTRIBUTOR, row.distributor.key)),
                               product_mapping=mappings.get((MappingKind.PRODUCT, row.product.key)))
                for outcome, row in waiting])
            self.touched.update(mapping.pk for mapping in mappings.values())
        return written, 0

    def _mappings(self, wanted: list[tuple[str, Match]]) -> dict[tuple[str, str], FlowMapping]:
        found = {(kind, match.key): match for kind, match in wanted}
        known = {(mapping.kind, mapping.key): mapping for mapping in FlowMapping.objects.filter(
            key__in={key for _kind, key in found})}
        for (kind, key), match in found.items():
            if (kind, key) not in known:
                known[(kind, key)] = audited_create(
                    FlowMapping, actor=self.actor, kind=kind, key=key, name=match.name[:200], city=match.city[:50],
                    suggestion_id=match.suggestion_id if kind == MappingKind.TERMINAL else None,
                    suggestion_score=match.score if kind == MappingKind.TERMINAL else None)
        return {key: known[key] for key in found}

    def finish(self) -> None:
        recount(self.touched)

    def summary(self) -> str:
        return _("%(matched)s rows matched; %(waiting)s rows wait for %(mappings)s names in the mapping queue; "
                 "%(duplicate)s rows were imported before and are skipped.") % {
            "matched": self.stats["matched"], "waiting": self.stats["waiting"],
            "mappings": len(self.waiting_mappings), "duplicate": self.stats["duplicate"]}


def recount(mapping_ids: set[int]) -> None:
    """Bring the queue's row counts and amounts up to date for these mappings (derived columns)."""
    if not mapping_ids:
        return
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for column in ("terminal_mapping", "distributor_mapping", "product_mapping"):
        for pk, rows, amount in (FlowPendingRow._base_manager.filter(**{f"{column}__in": mapping_ids})
                                 .values(column).annotate(rows=Count("id"), amount=Sum("amount_fen"))
                                 .values_list(column, "rows", "amount")):
            totals[pk][0] = rows
            totals[pk][1] = amount or 0
    for pk in mapping_ids:
        rows, amount = totals.get(pk, (0, 0))
        FlowMapping.objects.filter(pk=pk).update_derived(pending_rows=rows, pending_amount_fen=amount)


# --- the mapping queue ----------------------------------------------------------------------------------------


def resolve(*, actor: Any, mapping: FlowMapping, institution: Institution | None = None,
            product: Product | None = None) -> int:
    """Map a name once: remember it, and turn every waiting row that is now complete into a purchase.

    Returns the number of purchases written.
    """
    authorize(actor, "sales.change_flowmapping")
    with transaction.atomic():
        mapping = FlowMapping.objects.select_for_update().get(pk=mapping.pk)
        if mapping.status != MappingStatus.OPEN:
            raise ValidationError(_("This name is already mapped."))
        if mapping.kind == MappingKind.PRODUCT:
            if product is None:
                raise ValidationError({"product": [_("Choose the product this name means.")]})
            changes = {"product": product}
        else:
            if institution is None or not Institution.objects.visible_to(actor).live().filter(pk=institution.pk).exists():
                raise ValidationError({"institution": [_("Choose an institution you can see.")]})
            changes = {"institution": institution}
        mapping = audited_update(mapping, actor=actor, changes={**changes, "status": MappingStatus.RESOLVED})
        column, target = {MappingKind.TERMINAL: ("institution", "terminal_mapping"),
                          MappingKind.DISTRIBUTOR: ("distributor", "distributor_mapping"),
                          MappingKind.PRODUCT: ("product", "product_mapping")}[mapping.kind]
        waiting = FlowPendingRow._base_manager.filter(**{target: mapping})
        touched = set()
        for row in waiting.values("terminal_mapping", "distributor_mapping", "product_mapping").distinct():
            touched.update(pk for pk in row.values() if pk)
        waiting.update(**{f"{column}_id": mapping.target.pk, target: None})
        ready = FlowPendingRow._base_manager.filter(institution__isnull=False, distributor__isnull=False,
                                                    product__isnull=False)
        facts = [purchases.Fact(institution_id=row.institution_id, product_id=row.product_id,
                                purchased_on=row.purchased_on, quantity=row.quantity, amount_fen=row.amount_fen,
                                source=PurchaseSource.FLOW, line_key=row.line_key, distributor_id=row.distributor_id,
                                batch_number=row.batch_number, import_job_id=row.import_job_id)
                 for row in ready]
        written = purchases.add(facts)
        ready.delete()
        recount(touched)
    return written
