"""Our task pages: Jinja2 templates shipped in the package, rendered for either crowd (an MTurk
`HTMLQuestion` or external page, a Prolific study page).

Each kind of HIT (one assistant, a pair, k assistants) is a `HitTemplate` in `TEMPLATES`,
which also knows the answer fields its page submits, so that answer parsing can name what is
missing. Rendering is strict: autoescaping keeps task names and codes from changing the page,
and a missing variable is an error naming it rather than an empty string on a worker's screen.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from iglu_lib.errors import IgluError

#: Variables a template may be rendered without, and the value they then take.
OPTIONAL_VARIABLES: dict[str, Any] = {
    "title": "Play a building game with an AI assistant in Minecraft",
    "join_code_suffix": "",
    # ties on a two-game page (the campaign's `offer_ties`); a researcher expects both offered
    "offer_both_good": True,
    "offer_both_bad": True,
}

#: The template variable that switches each tie answer of `best_agent` on (see `answers.TIE_OPTIONS`).
TIE_VARIABLES = {"both_good_option": "offer_both_good", "both_bad_option": "offer_both_bad"}

class TemplateError(IgluError, ValueError):
    """A HIT page cannot be rendered from the variables given; the message says which."""



def _single_fields(agents: int) -> tuple[str, ...]:
    return ("joinCode", "completionCode", "agent_performance", "build_rating", "understanding_rating")


def _multi_fields(agents: int) -> tuple[str, ...]:
    per_game = (
        name
        for number in range(1, agents + 1)
        for name in (f"joinCode{number}", f"completionCode{number}", f"agent{number}_performance")
    )
    return (*per_game, "best_agent")


@dataclass(frozen=True)
class HitTemplate:
    """One kind of HIT page: its file, how many assistants it shows, the answers it submits."""

    kind: str
    file: str
    min_agents: int
    max_agents: int | None
    fields: Callable[[int], tuple[str, ...]]

    def check_agents(self, agents: int) -> None:
        upper = self.max_agents if self.max_agents is not None else agents
        if not self.min_agents <= agents <= upper:
            wanted = (
                f"exactly {self.min_agents}" if self.max_agents == self.min_agents
                else f"at least {self.min_agents}"
            )
            raise TemplateError(
                f"template '{self.kind}' shows {wanted} agent instance(s), got {agents} "
                "in agent_instance_ids"
            )

    def answer_fields(self, agents: int) -> tuple[str, ...]:
        """The answer names a submission of this page carries (for `agents` assistants)."""
        return self.fields(agents)


TEMPLATES: dict[str, HitTemplate] = {
    "single": HitTemplate("single", "single_agent.html.j2", 1, 1, _single_fields),
    "pairwise": HitTemplate("pairwise", "multi_agent.html.j2", 2, 2, _multi_fields),
    "multi": HitTemplate("multi", "multi_agent.html.j2", 2, None, _multi_fields),
}


def hit_template(kind: str) -> HitTemplate:
    """The template of a HIT kind, or an error listing the known kinds."""
    try:
        return TEMPLATES[kind]
    except KeyError:
        raise TemplateError(f"unknown HIT template '{kind}'; known: {', '.join(TEMPLATES)}") from None


@lru_cache(maxsize=1)
def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(
        loader=PackageLoader("iglu_lib.pages", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_hit(kind: str, variables: Mapping[str, Any]) -> str:
    """The HTML page of a HIT of `kind` (`single`, `pairwise`, `multi`).

    Needs `task_name`, `task_join_code` ("/plaiground:join-task-with-agent T:C:TASK") and
    `agent_instance_ids` (one per game); optional `title` and `join_code_suffix` (appended to
    every join code shown, e.g. an expiry the platform understands).
    """
    from jinja2 import TemplateError as JinjaError
    from jinja2 import UndefinedError

    if variables.get(FOLDER_KEY):
        return render_folder(variables[FOLDER_KEY], kind, variables)
    template = hit_template(kind)
    values = {**OPTIONAL_VARIABLES, **variables}
    _check_agent_ids(template, values)
    try:
        return _environment().get_template(template.file).render(values)
    except UndefinedError as err:
        raise TemplateError(
            f"template '{kind}' ({template.file}) needs a variable that was not given: {err.message}"
        ) from None
    except JinjaError as err:
        raise TemplateError(f"template '{kind}' ({template.file}) failed to render: {err}") from None


def shown_join_codes(variables: Mapping[str, Any]) -> str:
    """The join codes a page of `variables` shows, one per line, as `render_hit` writes them:
    what a crowd gives back as a page's text when the records of its work were lost."""
    code = str(variables.get("task_join_code", ""))
    suffix = str(variables.get("join_code_suffix", ""))
    return "\n".join(f"{code}:{instance}{suffix}" for instance in variables.get("agent_instance_ids", ()))


# -- question modes ---------------------------------------------------------------------------

#: How a campaign HIT carries its page: `html` puts the rendered page (join codes included) in an
#: HTMLQuestion; `external` points an ExternalQuestion at the workbench's task server, which shows
#: the codes only to an accepted assignment it verified with the service.
QUESTION_MODES = ("html", "external")

#: What the preview shows instead of a join code (and of each agent instance id).
HIDDEN_CODE = "(shown after you accept the HIT)"


def check_question_mode(mode: str) -> str:
    """The mode, or an error naming the known ones."""
    if mode not in QUESTION_MODES:
        raise TemplateError(f"unknown hit.question_mode '{mode}'; known: {', '.join(QUESTION_MODES)}")
    return mode


def preview_exposes_codes(mode: str) -> str | None:
    """The warning a campaign prints at start when its HITs let previewers read the join codes.

    An HTMLQuestion's page is the same for a previewer and for the worker who accepted: a script
    only hides the codes, so anyone who previews can join the agent instances. None for `external`.
    """
    if check_question_mode(mode) == "external":
        return None
    return (
        "previewers can read the join codes of html-mode HITs (a script only hides them), so anyone "
        "who previews a HIT can join its agent instances without accepting; set hit.question_mode: "
        "external (with hit.external_url, the public HTTPS address of `iglu crowd serve`) to show "
        "codes only to verified accepted assignments"
    )


def render_hit_preview(kind: str, variables: Mapping[str, Any]) -> str:
    """The page of a HIT with every join code replaced by `HIDDEN_CODE`: what a previewer gets.

    The task name and the number of games stay, so a worker can judge the HIT before accepting;
    no part of a join code (task join code, agent instance id, suffix) reaches the HTML.
    """
    ids = variables.get("agent_instance_ids")
    count = len(ids) if isinstance(ids, Sequence) and not isinstance(ids, str) else 1
    masked = {**variables, "task_join_code": HIDDEN_CODE, "agent_instance_ids": [""] * count,
              "join_code_suffix": ""}
    page = render_hit(kind, masked)
    return page.replace(f"{HIDDEN_CODE}:", HIDDEN_CODE)



# -- a researcher's own template folder --------------------------------------------------------

#: File names looked up in a template folder, per HIT type, first found wins.
FOLDER_FILES: dict[str, tuple[str, ...]] = {
    "single": ("single.html.j2", "hit.html.j2"),
    "pairwise": ("pairwise.html.j2", "multi.html.j2", "hit.html.j2"),
    "multi": ("multi.html.j2", "hit.html.j2"),
}
#: Default values of a folder's own variables (e.g. `minecraft_server`), read beside its pages.
FOLDER_VARIABLES_FILE = "variables.yaml"
#: A variable value starting with this is a placeholder the researcher must replace.
PLACEHOLDER_PREFIX = "CHANGE ME"
#: What `check_template` renders with: join codes no real game has, and an expiry suffix, so a
#: page that forgets the suffix is caught.
SAMPLE_TASK_JOIN_CODE = "/plaiground:join-task-with-agent T-SAMPLE:C-SAMPLE:TASK-SAMPLE"
SAMPLE_SUFFIX = ":1893456000000"
#: The key under which an external-mode page row remembers its template folder.
FOLDER_KEY = "template_folder"


class TemplateIncomplete(IgluError):
    """A campaign's own HIT page lacks elements the loop needs; the message lists them."""


def sample_variables(agents: int) -> dict[str, Any]:
    """Variables of a sample HIT with `agents` games (what previews and checks render)."""
    return {
        "task_name": "Sample task: a blue tower beside a red wall",
        "task_join_code": SAMPLE_TASK_JOIN_CODE,
        "agent_instance_ids": [f"sample-instance-{n}" for n in range(1, agents + 1)],
        "join_code_suffix": SAMPLE_SUFFIX,
    }


def template_folder(folder: str | Path) -> Path:
    """A template folder named relative to the project root (or absolute), checked to exist."""
    from iglu_lib import paths

    path = Path(folder)
    path = path if path.is_absolute() else paths.project_root() / path
    if not path.is_dir():
        raise TemplateIncomplete(f"hit_template: template folder {path} does not exist")
    return path.resolve()


def folder_variables(folder: str | Path) -> dict[str, Any]:
    """The folder's default variables (`variables.yaml`; none when absent)."""
    from iglu_lib.config import read_yaml

    file = template_folder(folder) / FOLDER_VARIABLES_FILE
    if not file.is_file():
        return {}
    values = read_yaml(file) or {}
    if not isinstance(values, dict):
        raise TemplateIncomplete(f"{file}: expected a mapping of template variables")
    return values


@lru_cache(maxsize=16)
def _folder_environment(folder: str) -> Any:
    """The folder's pages first, then the package's (so `{% extends "_base.html.j2" %}` and
    `{% import "_macros.html.j2" %}` work; `package/NAME` always means the package's file)."""
    from jinja2 import (
        ChoiceLoader,
        Environment,
        FileSystemLoader,
        PackageLoader,
        PrefixLoader,
        StrictUndefined,
    )

    package = PackageLoader("iglu_lib.pages", "templates")
    return Environment(
        loader=ChoiceLoader([FileSystemLoader(folder), PrefixLoader({"package": package}), package]),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def folder_file(folder: str | Path, kind: str) -> str:
    """The file of the folder that renders HITs of `kind`, or an error naming what was looked for."""
    hit_template(kind)
    path = template_folder(folder)
    for name in FOLDER_FILES[kind]:
        if (path / name).is_file():
            return name
    raise TemplateIncomplete(
        f"template folder {path} has no page for {kind} HITs (looked for {', '.join(FOLDER_FILES[kind])})"
    )


def render_folder(folder: str | Path, kind: str, variables: Mapping[str, Any]) -> str:
    """The page of a HIT of `kind` from a researcher's template folder.

    Variables: the folder's `variables.yaml`, then `variables` (the campaign's and the HIT's);
    the same strictness as `render_hit` (autoescaped, a missing variable is named)."""
    from jinja2 import TemplateError as JinjaError
    from jinja2 import UndefinedError

    template = hit_template(kind)
    path = template_folder(folder)
    file = folder_file(path, kind)
    values = {**OPTIONAL_VARIABLES, **folder_variables(path), **variables}
    values.pop(FOLDER_KEY, None)
    _check_agent_ids(template, values)
    try:
        return _folder_environment(str(path)).get_template(file).render(values)
    except UndefinedError as err:
        raise TemplateError(f"{path / file} needs a variable that was not given: {err.message}") from None
    except JinjaError as err:
        raise TemplateError(f"{path / file} failed to render: {err}") from None


def check_template(folder: str | Path, hit_type: str, agents: int,
                   variables: Mapping[str, Any] | None = None) -> list[str]:
    """What a folder's page for `hit_type` with `agents` games lacks (empty: complete).

    Renders one sample page and looks for what the loop and the worker need: each game's join
    code shown, a hidden join-code field per game carrying it, a completion-code input per game
    named as the loop reads it, every other answer field the loop reads (the `best_agent` radios:
    one per game, and beside two games each tie `offer_both_good` / `offer_both_bad` switches on,
    none it switches off), a form and a submit; and no variable left at its `CHANGE ME` placeholder."""
    from iglu_lib.pages.answers import code_field

    try:
        sample = {**(variables or {}), **sample_variables(agents)}
        page = render_folder(folder, hit_type, sample)
    except (TemplateError, TemplateIncomplete) as err:
        return [str(err)]
    found = _PageElements.read(page)
    join_codes = [f"{SAMPLE_TASK_JOIN_CODE}:{i}{SAMPLE_SUFFIX}" for i in sample["agent_instance_ids"]]
    single = agents == 1
    missing = []
    for position, code in enumerate(join_codes):
        game = "the game" if single else f"game {position + 1}"
        hidden_name = "joinCode" if single else f"joinCode{position + 1}"
        if code not in found.text:
            missing.append(f"the join code of {game} shown on the page ({code})")
        if found.hidden.get(hidden_name) != code:
            missing.append(f"a hidden input name=\"{hidden_name}\" holding the join code of {game}")
        name = code_field(position, agents)
        if name not in found.text_inputs:
            missing.append(f"a completion-code text input name=\"{name}\" for {game}")
    fields = hit_template(hit_type).answer_fields(agents)
    for name in fields:
        if name.startswith(("joinCode", "completionCode")) or name in found.controls:
            continue
        missing.append(f"an answer field name=\"{name}\" (the loop reads it)")
    if "best_agent" in fields:
        missing.extend(_best_agent_lacks(found.radio_values.get("best_agent", set()), agents, variables))
    if not found.form:
        missing.append("a form (<crowd-form> or <form>) around the answers")
    if not found.submit:
        missing.append("a submit button (<button type=\"submit\"> or <input type=\"submit\">)")
    values = {**folder_variables(folder), **(variables or {})}
    missing.extend(
        f"a value for variable '{name}' (still the placeholder '{value}')"
        for name, value in values.items() if isinstance(value, str) and value.startswith(PLACEHOLDER_PREFIX)
    )
    return missing


def offered_ties(variables: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The tie answers (`answers.TIE_OPTIONS`) a page rendered with `variables` offers beside two
    games; each is on unless its variable (`TIE_VARIABLES`) says false."""
    values = {**OPTIONAL_VARIABLES, **(variables or {})}
    return tuple(option for option, name in TIE_VARIABLES.items() if values.get(name))


def _best_agent_lacks(shown: set[str], agents: int, variables: Mapping[str, Any] | None) -> list[str]:
    """The `best_agent` radios a page lacks, and tie radios it shows although switched off (the
    answer would be refused as a choice the campaign did not offer)."""
    from iglu_lib.pages.answers import TIE_OPTIONS, offered_options

    wanted = set(offered_options(agents, offered_ties(variables)))
    lacks = []
    lacking = sorted(wanted - shown)
    if lacking:
        lacks.append(f"radio inputs name=\"best_agent\" with value(s) {', '.join(lacking)}")
    extra = sorted((shown & set(TIE_OPTIONS)) - wanted)
    if extra:
        lacks.append(f"no radio name=\"best_agent\" with value(s) {', '.join(extra)} (the campaign's "
                     "offer_ties switches it off, or the HIT does not show two games)")
    return lacks


def require_complete_template(folder: str | Path, hit_type: str, agents: int,
                              variables: Mapping[str, Any] | None = None) -> None:
    """Refuse (with `TemplateIncomplete` naming every lack) a folder whose page is incomplete:
    what a campaign calls at start, before any HIT is made."""
    missing = check_template(folder, hit_type, agents, variables)
    if missing:
        raise TemplateIncomplete(
            f"HIT template {folder} ({hit_type}, {agents} game(s)) is incomplete; it needs: "
            + "; ".join(missing)
        )


class _PageElements:
    """What `check_template` looks for in a rendered page, read with BeautifulSoup."""

    def __init__(self) -> None:
        self.text = ""
        self.hidden: dict[str, str] = {}
        self.text_inputs: set[str] = set()
        self.controls: set[str] = set()
        self.radio_values: dict[str, set[str]] = {}
        self.form = False
        self.submit = False

    @classmethod
    def read(cls, page: str) -> _PageElements:
        from bs4 import BeautifulSoup

        soup = BeautifulSoup(page, "html.parser")
        found = cls()
        for hidden in soup(["script", "style", "template"]):
            hidden.decompose()
        found.text = soup.get_text(" ")
        found.form = bool(soup.find(["crowd-form", "form"]))
        for element in soup.find_all(["input", "textarea", "select", "button", "crowd-button"]):
            found._element(element)
        return found

    def _element(self, element: Any) -> None:
        name = element.get("name")
        kind = (element.get("type") or ("submit" if element.name == "button" else "text")).lower()
        if kind == "submit" or element.get("form-action") == "submit":
            self.submit = True
            return
        if not name:
            return
        self.controls.add(name)
        if element.name == "input" and kind == "hidden":
            self.hidden[name] = element.get("value") or ""
        elif element.name == "textarea" or (element.name == "input" and kind == "text"):
            self.text_inputs.add(name)
        elif kind == "radio":
            self.radio_values.setdefault(name, set()).add(element.get("value") or "")


def _check_agent_ids(template: HitTemplate, values: Mapping[str, Any]) -> None:
    """The page's agent instance ids, when given, are a list whose length the template takes."""
    ids = values.get("agent_instance_ids")
    if ids is None:
        return
    if isinstance(ids, str) or not isinstance(ids, Sequence):
        raise TemplateError("agent_instance_ids must be a list of agent instance ids, not a string")
    template.check_agents(len(ids))
