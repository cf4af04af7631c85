"""Static HTML crowd tasks of the droidlet kind, gated by an onboarding check.

A task folder (`conf/<name>.yaml`, `server_files/`, `data.csv`) is loaded with `load_task`,
served to workers by `TaskServer`, put on the crowd platform by `StaticTaskProvider`, and
recorded in a `CrowdDB`. Names are re-exported lazily so `import iglu_lib.crowd` stays light.
"""

from __future__ import annotations

from iglu_lib.lazy import lazy_exports

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
