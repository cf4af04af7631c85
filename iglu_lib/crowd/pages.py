"""The task's HTML pages and their `${name}` placeholders.

Placeholders are filled on the server with HTML-escaped values, so a value holding quotes
or markup can never change the page. `$${name}` writes a literal `${name}` (for a page's own
JavaScript). Which names a page may use is fixed per page kind, and every page is checked
against them when the task is loaded, so a placeholder without a value is an error before
any HIT exists rather than a broken page in front of a worker.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from iglu_lib.crowd.config import TaskConfig
from iglu_lib.crowd.units import Unit
from iglu_lib.errors import IgluError

PLACEHOLDER = re.compile(r"\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)\}")

#: Values of the task itself, usable on every page.
TASK_VALUES: dict[str, str] = {
    "task_name": "mephisto.task.task_name",
    "task_title": "mephisto.task.task_title",
    "task_description": "mephisto.task.task_description",
    "task_reward": "mephisto.task.task_reward, in USD (e.g. 0.30)",
}

#: Values known when a worker opens an assignment, usable on the onboarding and task pages.
RUNTIME_VALUES: dict[str, str] = {
    "mephisto_agent_id": "the assignment id: one worker's work on one unit (Mephisto's agent)",
    "provider_worker_id": "the crowd platform's worker id (MTurk workerId)",
    "assignment_id": "the crowd platform's assignment id (MTurk assignmentId)",
    "hit_id": "the crowd platform's HIT id (MTurk hitId)",
    "turk_submit_to": "where the platform receives the submission (MTurk turkSubmitTo)",
    "unit_id": "the unit's number in the task run",
    "task_run_id": "the task run the unit belongs to",
    "submit_url": "the task server's address for the task form (method post)",
    "onboarding_submit_url": "the task server's address for the onboarding form (method post)",
}

PAGE_KINDS = ("preview", "onboarding", "task")


class PlaceholderError(IgluError):
    """A page asks for a value that was not given."""



def placeholders(text: str) -> set[str]:
    """The names a page asks for (escaped `$${name}` excluded)."""
    return {match.group(2) for match in PLACEHOLDER.finditer(text) if not match.group(1)}


def fill(text: str, values: Mapping[str, object], page: str = "page") -> str:
    """The page with every `${name}` replaced by its HTML-escaped value."""
    missing = sorted(placeholders(text) - set(values))
    if missing:
        raise PlaceholderError(f"{page}: no value for {', '.join('${' + name + '}' for name in missing)}")

    def replace(match: re.Match[str]) -> str:
        if match.group(1):
            return "${" + match.group(2) + "}"
        return html.escape(str(values[match.group(2)]), quote=True)

    return PLACEHOLDER.sub(replace, text)


@dataclass(frozen=True)
class Pages:
    """The HTML sources of one task, read once."""

    task: str
    preview: str | None
    onboarding: str | None

    def source(self, kind: str) -> str | None:
        return {"task": self.task, "preview": self.preview, "onboarding": self.onboarding}[kind]


def read_pages(config: TaskConfig) -> Pages:
    return Pages(
        task=config.task_source.read_text(encoding="utf-8"),
        preview=_read(config.preview_source),
        onboarding=_read(config.onboarding_source),
    )


def _read(path: Path | None) -> str | None:
    return None if path is None else path.read_text(encoding="utf-8")


def task_values(config: TaskConfig) -> dict[str, str]:
    return {
        "task_name": config.task_name,
        "task_title": config.title,
        "task_description": config.description,
        "task_reward": config.reward,
    }


def allowed_names(kind: str, columns: Iterable[str]) -> set[str]:
    """The names a page of `kind` may use: the preview has no worker yet, the task page has a row."""
    names = set(TASK_VALUES)
    if kind in ("onboarding", "task"):
        names |= set(RUNTIME_VALUES)
    if kind == "task":
        names |= set(columns)
    return names


def placeholder_problems(config: TaskConfig, pages: Pages, units: list[Unit]) -> list[str]:
    """Every placeholder without a value, per page and per `data.csv` row."""
    columns = list(units[0].values) if units else []
    problems = [
        f"{config.data_csv}: column '{name}' clashes with a runtime value of the same name; rename the column"
        for name in columns
        if name in RUNTIME_VALUES or name in TASK_VALUES
    ]
    sources = {"task": config.task_source, "preview": config.preview_source, "onboarding": config.onboarding_source}
    for kind in PAGE_KINDS:
        text = pages.source(kind)
        if text is None:
            continue
        unknown = sorted(placeholders(text) - allowed_names(kind, columns))
        if unknown:
            problems.append(
                f"{sources[kind]}: no value for {', '.join('${' + n + '}' for n in unknown)} "
                f"(a {kind} page may use {', '.join(sorted(allowed_names(kind, columns)))})"
            )
    used_columns = placeholders(pages.task) & set(columns)
    for unit in _distinct_rows(units):
        empty = sorted(name for name in used_columns if not unit.values.get(name))
        if empty:
            problems.append(f"{config.data_csv}: row {unit.row_number}: empty {', '.join(empty)}, used by the task page")
    return problems


def _distinct_rows(units: list[Unit]) -> list[Unit]:
    seen: dict[int, Unit] = {}
    for unit in units:
        seen.setdefault(unit.row_number, unit)
    return list(seen.values())
