"""Static HTML crowd tasks of the droidlet kind, gated by an onboarding check.

A task folder (`conf/<name>.yaml`, `server_files/`, `data.csv`) is loaded with `load_task`,
served to workers by `TaskServer`, put on the crowd platform by `StaticTaskProvider`, and
recorded in a `CrowdDB`. Names are re-exported lazily so `import iglu_lib.crowd` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iglu_lib.lazy import lazy_exports

if TYPE_CHECKING:  # the checker sees the real names; at run time they load on first use
    from iglu_lib.crowd.config import TaskConfig as TaskConfig
    from iglu_lib.crowd.config import TaskConfigError as TaskConfigError
    from iglu_lib.crowd.config import load_config as load_config
    from iglu_lib.crowd.db import CrowdDB as CrowdDB
    from iglu_lib.crowd.db import default_db_path as default_db_path
    from iglu_lib.crowd.export import export_records as export_records
    from iglu_lib.crowd.onboarding import OnboardingResult as OnboardingResult
    from iglu_lib.crowd.onboarding import OnboardingRules as OnboardingRules
    from iglu_lib.crowd.onboarding import check_onboarding as check_onboarding
    from iglu_lib.crowd.onboarding import split_commands as split_commands
    from iglu_lib.crowd.pages import RUNTIME_VALUES as RUNTIME_VALUES
    from iglu_lib.crowd.pages import fill as fill
    from iglu_lib.crowd.pages import placeholders as placeholders
    from iglu_lib.crowd.provider import OnboardingQualification as OnboardingQualification
    from iglu_lib.crowd.provider import StaticTaskProvider as StaticTaskProvider
    from iglu_lib.crowd.server import TaskServer as TaskServer
    from iglu_lib.crowd.session import TaskRun as TaskRun
    from iglu_lib.crowd.session import open_task_run as open_task_run
    from iglu_lib.crowd.task import CrowdTask as CrowdTask
    from iglu_lib.crowd.task import load_task as load_task
    from iglu_lib.crowd.units import Unit as Unit
    from iglu_lib.crowd.units import read_units as read_units

_EXPORTS = {
    "TaskConfig": "iglu_lib.crowd.config",
    "TaskConfigError": "iglu_lib.crowd.config",
    "load_config": "iglu_lib.crowd.config",
    "Unit": "iglu_lib.crowd.units",
    "read_units": "iglu_lib.crowd.units",
    "CrowdTask": "iglu_lib.crowd.task",
    "load_task": "iglu_lib.crowd.task",
    "fill": "iglu_lib.crowd.pages",
    "placeholders": "iglu_lib.crowd.pages",
    "RUNTIME_VALUES": "iglu_lib.crowd.pages",
    "OnboardingRules": "iglu_lib.crowd.onboarding",
    "OnboardingResult": "iglu_lib.crowd.onboarding",
    "check_onboarding": "iglu_lib.crowd.onboarding",
    "split_commands": "iglu_lib.crowd.onboarding",
    "CrowdDB": "iglu_lib.crowd.db",
    "default_db_path": "iglu_lib.crowd.db",
    "TaskServer": "iglu_lib.crowd.server",
    "OnboardingQualification": "iglu_lib.crowd.provider",
    "StaticTaskProvider": "iglu_lib.crowd.provider",
    "TaskRun": "iglu_lib.crowd.session",
    "open_task_run": "iglu_lib.crowd.session",
    "export_records": "iglu_lib.crowd.export",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
