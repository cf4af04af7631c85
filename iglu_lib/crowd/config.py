"""Read a droidlet-style task folder's Mephisto configuration (`conf/<name>.yaml`).

Mephisto's newest release cannot be imported on Python 3.11, so the workbench reads the
same files with OmegaConf itself: `#@package _global_` header, keys under
`mephisto.blueprint` and `mephisto.task`, `${task_dir}` (the task folder) and `${env:VAR}`
(the environment and `.env`) interpolations. Every problem is collected and reported at
once, each naming the file and the key, so a broken task folder is fixed in one pass.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from iglu_lib.errors import IgluError

PACKAGE_HEADER = "#@package _global_"

#: Keys of `mephisto.blueprint` that name files or folders, and whether each must be set.
PATH_KEYS: dict[str, tuple[bool, str]] = {
    "data_csv": (True, "file"),
    "task_source": (True, "file"),
    "preview_source": (False, "file"),
    "onboarding_source": (False, "file"),
    "extra_source_dir": (False, "dir"),
}
REQUIRED_TASK_KEYS = ("task_name", "task_title", "task_description", "task_reward")


class TaskConfigError(IgluError):
    """A task folder is not usable; the message lists every problem with file and key."""


    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in the task folder: " + "; ".join(self.problems))


@dataclass(frozen=True)
class TaskConfig:
    """The settings of one static task, with every path resolved and checked."""

    task_dir: Path
    conf_name: str
    conf_path: Path
    task_name: str
    title: str
    description: str
    reward: str
    tags: tuple[str, ...]
    data_csv: Path
    task_source: Path
    preview_source: Path | None
    onboarding_source: Path | None
    extra_source_dir: Path | None
    onboarding_qualification: str | None
    units_per_assignment: int
    assignment_duration_seconds: int | None

    @property
    def has_onboarding(self) -> bool:
        return self.onboarding_source is not None


def conf_path(task_dir: str | Path, conf_name: str) -> Path:
    return Path(task_dir) / "conf" / f"{Path(conf_name).stem}.yaml"


def load_config(task_dir: str | Path, conf_name: str) -> TaskConfig:
    """Load and check `TASK_DIR/conf/NAME.yaml`; raises `TaskConfigError` listing every problem."""
    folder = Path(task_dir).resolve()
    path = conf_path(folder, conf_name)
    if not folder.is_dir():
        raise TaskConfigError([f"{folder}: task folder not found"])
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in (folder / "conf").glob("*.yaml"))) or "none"
        raise TaskConfigError([f"{path}: configuration not found (known in conf/: {known})"])
    raw = _read_conf(path, folder)
    problems: list[str] = []
    blueprint = _section(raw, "mephisto.blueprint", path, problems)
    task = _section(raw, "mephisto.task", path, problems)
    if problems:
        raise TaskConfigError(problems)
    paths = {key: _path_value(blueprint, key, folder, path, problems) for key in PATH_KEYS}
    settings = _task_settings(task, path, problems)
    units_per_assignment = _positive_int(blueprint.get("units_per_assignment", 1), "mephisto.blueprint.units_per_assignment", path, problems)
    duration = task.get("assignment_duration_in_seconds")
    duration = None if duration is None else _positive_int(duration, "mephisto.task.assignment_duration_in_seconds", path, problems)
    qualification = _optional_str(blueprint.get("onboarding_qualification"))
    if paths["onboarding_source"] is not None and not qualification:
        problems.append(f"{path}: mephisto.blueprint.onboarding_qualification is required when onboarding_source is set")
    if problems:
        raise TaskConfigError(problems)
    data_csv, task_source = paths["data_csv"], paths["task_source"]
    assert data_csv is not None and task_source is not None  # required: a missing one is a problem
    return TaskConfig(
        task_dir=folder,
        conf_name=path.stem,
        conf_path=path,
        task_name=settings["task_name"],
        title=settings["task_title"],
        description=settings["task_description"],
        reward=settings["task_reward"],
        tags=settings["task_tags"],
        data_csv=data_csv,
        task_source=task_source,
        preview_source=paths["preview_source"],
        onboarding_source=paths["onboarding_source"],
        extra_source_dir=paths["extra_source_dir"],
        onboarding_qualification=qualification,
        units_per_assignment=units_per_assignment,
        assignment_duration_seconds=duration,
    )


# -- reading --------------------------------------------------------------------------
def _read_conf(path: Path, task_dir: Path) -> dict[str, Any]:
    """The configuration with every interpolation resolved; problems name the key."""
    from omegaconf import DictConfig, OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    text = path.read_text(encoding="utf-8")
    first_line = text.lstrip().splitlines()[0].strip() if text.strip() else ""
    if first_line.replace(" ", "") != PACKAGE_HEADER.replace(" ", ""):
        raise TaskConfigError([f"{path}: the first line must be '{PACKAGE_HEADER}' (keys are read at the top level)"])
    _register_env_resolver()
    try:
        loaded = OmegaConf.create(text)
    except (OmegaConfBaseException, ValueError) as err:
        raise TaskConfigError([f"{path}: malformed YAML: {err}"]) from None
    if not isinstance(loaded, DictConfig):
        raise TaskConfigError([f"{path}: expected a mapping at the top level"])
    conf = OmegaConf.merge({"task_dir": str(task_dir)}, loaded)
    container = OmegaConf.to_container(conf, resolve=False)
    assert isinstance(conf, DictConfig) and isinstance(container, dict)  # merged onto a mapping
    problems = []
    for key in _leaf_keys(container.get("mephisto"), "mephisto."):
        try:
            OmegaConf.select(conf, key, throw_on_missing=True)
        except OmegaConfBaseException as err:
            problems.append(f"{path}: {key}: {_first_line(err)}")
    if problems:
        raise TaskConfigError(problems)
    resolved = OmegaConf.to_container(conf.get("mephisto"), resolve=True) if "mephisto" in conf else None
    _refuse_secret_values(resolved, path)
    return {"mephisto": resolved}


def _refuse_secret_values(node: Any, path: Path) -> None:
    """A setting whose value is a secret's value (through any variable name) is refused too."""
    from iglu_lib.config import SECRETS, environment

    secret_values = {value for name, value in environment().items() if name in SECRETS and len(value) >= 8}
    leaked = [key for key, value in _leaf_items(node, "mephisto.") if isinstance(value, str) and value in secret_values]
    if leaked:
        raise TaskConfigError([f"{path}: {key} holds the value of a secret; secrets never go into a task's settings"
                               for key in leaked])


def _leaf_items(node: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(node, dict):
        return [item for key, value in node.items() for item in _leaf_items(value, f"{prefix}{key}.")]
    if isinstance(node, list):
        return [item for i, value in enumerate(node) for item in _leaf_items(value, f"{prefix}{i}.")]
    return [(prefix.rstrip("."), node)]


def _register_env_resolver() -> None:
    """`${env:VAR}` and `${env:VAR,default}` as in Mephisto's configurations (idempotent)."""
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver("env"):
        OmegaConf.register_resolver("env", _env_value, annotation_validation="off")


def _env_value(name: str, default: Any = None) -> Any:
    """An environment value for the task's settings; never a secret, because a task's settings
    end up on pages strangers read (the preview is public) and in the run's records."""
    from iglu_lib.config import SECRETS, environment

    if str(name).strip().upper() in SECRETS:
        raise ValueError(
            f"${{env:{name}}} names a secret; secrets come from the environment or .env for the workbench "
            "itself and never go into a task's settings or pages: remove the interpolation"
        )
    value = environment().get(name)
    if value is None:
        if default is not None:
            return default
        raise KeyError(f"environment variable {name} is not set; set it or give a default (${{env:{name},value}})")
    return value


def _leaf_keys(node: Any, prefix: str = "") -> list[str]:
    if isinstance(node, dict):
        return [leaf for key, value in node.items() for leaf in _leaf_keys(value, f"{prefix}{key}.")]
    if isinstance(node, list):
        return [leaf for i, value in enumerate(node) for leaf in _leaf_keys(value, f"{prefix}{i}.")]
    return [prefix.rstrip(".")]


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


# -- checking -------------------------------------------------------------------------
def _section(raw: dict[str, Any], dotted: str, path: Path, problems: list[str]) -> dict[str, Any]:
    node: Any = raw
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if not isinstance(node, dict):
        problems.append(f"{path}: {dotted} is missing (expected a mapping of settings)")
        return {}
    return node


def _optional_str(value: Any) -> str | None:
    return None if value is None or str(value).strip() == "" else str(value).strip()


def _path_value(blueprint: dict[str, Any], key: str, task_dir: Path, path: Path, problems: list[str]) -> Path | None:
    required, kind = PATH_KEYS[key]
    value = _optional_str(blueprint.get(key))
    if value is None:
        if required:
            problems.append(f"{path}: mephisto.blueprint.{key} is required")
        return None
    resolved = Path(value) if Path(value).is_absolute() else task_dir / value
    exists = resolved.is_file() if kind == "file" else resolved.is_dir()
    if not exists:
        problems.append(f"{path}: mephisto.blueprint.{key}: {kind} {resolved} does not exist")
        return None
    return resolved


def _task_settings(task: dict[str, Any], path: Path, problems: list[str]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for key in REQUIRED_TASK_KEYS:
        value = _optional_str(task.get(key))
        if value is None:
            problems.append(f"{path}: mephisto.task.{key} is required")
        settings[key] = value or ""
    settings["task_reward"] = _reward(settings["task_reward"], path, problems)
    settings["task_tags"] = _tags(task.get("task_tags"))
    return settings


def _reward(value: str, path: Path, problems: list[str]) -> str:
    if not value:
        return ""
    try:
        amount = Decimal(value)
    except InvalidOperation:
        amount = Decimal(-1)
    if not amount.is_finite() or amount <= 0:
        problems.append(f"{path}: mephisto.task.task_reward '{value}' is not a positive amount in USD")
        return ""
    return f"{amount.quantize(Decimal('0.01'))}"


def _tags(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else str(value or "").split(",")
    return tuple(tag.strip() for tag in map(str, items) if tag.strip())


def _positive_int(value: Any, key: str, path: Path, problems: list[str]) -> int:
    try:
        number = int(str(value))
    except ValueError:
        number = 0
    if number < 1:
        problems.append(f"{path}: {key} must be a whole number of at least 1, not '{value}'")
        return 1
    return number
