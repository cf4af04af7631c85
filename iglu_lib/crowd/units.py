"""The units of a static task: one per `data.csv` row, times `units_per_assignment`.

`data.csv`'s header names the variables that the task page's `${name}` placeholders take
(the craftassist task uses `subdomain,batch`). A unit is what one HIT shows one worker.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Unit:
    """One piece of work: its number in the run, the CSV row it came from, and its values."""

    unit_id: int
    row_number: int
    values: Mapping[str, str]

    def as_dict(self) -> dict[str, Any]:
        return {"unit_id": self.unit_id, "row_number": self.row_number, **self.values}


def read_units(data_csv: Path, units_per_assignment: int = 1) -> tuple[list[Unit], list[str]]:
    """The units of `data_csv` and every problem found (file, row number, what to do).

    Row numbers count the header as row 1, as a spreadsheet shows them. A row with a
    wrong number of fields is a problem, never silently padded or cut.
    """
    problems: list[str] = []
    rows: list[tuple[int, dict[str, str]]] = []
    with open(data_csv, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = [name.strip() for name in next(reader, [])]
        problems.extend(_header_problems(data_csv, header))
        for row_number, fields in enumerate(reader, start=2):
            if not any(field.strip() for field in fields):
                continue
            if len(fields) != len(header):
                problems.append(
                    f"{data_csv}: row {row_number} has {len(fields)} fields, the header has {len(header)}; "
                    "quote fields that contain commas"
                )
                continue
            rows.append((row_number, {name: value.strip() for name, value in zip(header, fields, strict=True)}))
    if not rows and not problems:
        problems.append(f"{data_csv}: no rows; add one row per unit under the header")
    units = [
        Unit(unit_id=index, row_number=row_number, values=values)
        for index, (row_number, values) in enumerate(
            row for row in rows for _ in range(units_per_assignment)
        )
    ]
    return units, problems


def _header_problems(data_csv: Path, header: list[str]) -> list[str]:
    if not header or not any(header):
        return [f"{data_csv}: the first line must be a header naming the variables (e.g. subdomain,batch)"]
    problems = []
    seen: set[str] = set()
    for position, name in enumerate(header, start=1):
        if not name.isidentifier():
            problems.append(f"{data_csv}: header column {position} '{name}' is not a valid placeholder name (letters, digits, _)")
        if name in seen:
            problems.append(f"{data_csv}: header column {position} '{name}' appears twice")
        seen.add(name)
    return problems
