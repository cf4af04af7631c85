"""A loaded static task: its configuration, units and pages, checked together."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from iglu_lib.crowd.config import TaskConfig, TaskConfigError, load_config
from iglu_lib.crowd.pages import Pages, placeholder_problems, read_pages
from iglu_lib.crowd.units import Unit, read_units


@dataclass(frozen=True)
class CrowdTask:
    """Everything the task server and the provider need to know about one task."""

    config: TaskConfig
    units: tuple[Unit, ...]
    pages: Pages

    @property
    def name(self) -> str:
        return self.config.task_name

    def with_qualification(self, name: str) -> CrowdTask:
        """The same task with another `onboarding_qualification` (e.g. one per campaign)."""
        return replace(self, config=replace(self.config, onboarding_qualification=name))

    def unit(self, unit_id: int) -> Unit:
        if not 0 <= unit_id < len(self.units):
            raise KeyError(f"unit {unit_id} is not part of task '{self.name}' ({len(self.units)} units)")
        return self.units[unit_id]


def load_task(task_dir: str | Path, conf_name: str) -> CrowdTask:
    """Load a task folder; `TaskConfigError` lists every problem (config, data.csv, pages) at once."""
    config = load_config(task_dir, conf_name)
    units, problems = read_units(config.data_csv, config.units_per_assignment)
    pages = read_pages(config)
    problems += placeholder_problems(config, pages, units)
    if problems:
        raise TaskConfigError(problems)
    return CrowdTask(config=config, units=tuple(units), pages=pages)
