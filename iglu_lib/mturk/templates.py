"""HIT pages: Jinja2 templates shipped in the package, rendered into MTurk `HTMLQuestion`s.

Each kind of HIT (one assistant, a pair, k assistants) is a `HitTemplate` in `TEMPLATES`,
which also knows the answer fields its page submits, so that answer parsing can name what is
missing. Rendering is strict: autoescaping keeps task names and codes from changing the page,
and a missing variable is an error naming it rather than an empty string on a worker's screen.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

#: Variables a template may be rendered without, and the value they then take.
OPTIONAL_VARIABLES: dict[str, Any] = {
    "title": "Play a building game with an AI assistant in Minecraft",
    "join_code_suffix": "",
}

HTML_QUESTION_SCHEMA = (
    "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd"
)
EXTERNAL_QUESTION_SCHEMA = (
    "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2006-07-14/ExternalQuestion.xsd"
)


class TemplateError(ValueError):
    """A HIT page cannot be rendered from the variables given; the message says which."""

    user_error = True


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
        loader=PackageLoader("iglu_lib.mturk", "templates"),
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

    template = hit_template(kind)
    values = {**OPTIONAL_VARIABLES, **variables}
    ids = values.get("agent_instance_ids")
    if ids is not None:
        if isinstance(ids, str) or not isinstance(ids, Sequence):
            raise TemplateError("agent_instance_ids must be a list of agent instance ids, not a string")
        template.check_agents(len(ids))
    try:
        return _environment().get_template(template.file).render(values)
    except UndefinedError as err:
        raise TemplateError(
            f"template '{kind}' ({template.file}) needs a variable that was not given: {err.message}"
        ) from None
    except JinjaError as err:
        raise TemplateError(f"template '{kind}' ({template.file}) failed to render: {err}") from None


def html_question(html: str, frame_height: int = 0) -> str:
    """Wrap a page in MTurk's `HTMLQuestion` XML (`FrameHeight` 0 lets the page take the window)."""
    safe = html.replace("]]>", "]]]]><![CDATA[>")
    return (
        f'<HTMLQuestion xmlns="{HTML_QUESTION_SCHEMA}">\n'
        f"  <HTMLContent><![CDATA[{safe}]]></HTMLContent>\n"
        f"  <FrameHeight>{int(frame_height)}</FrameHeight>\n"
        "</HTMLQuestion>\n"
    )


def external_question(url: str, frame_height: int = 0) -> str:
    """MTurk's `ExternalQuestion` XML for a page served elsewhere (MTurk adds the worker parameters)."""
    from xml.sax.saxutils import escape

    return (
        f'<ExternalQuestion xmlns="{EXTERNAL_QUESTION_SCHEMA}">\n'
        f"  <ExternalURL>{escape(url)}</ExternalURL>\n"
        f"  <FrameHeight>{int(frame_height)}</FrameHeight>\n"
        "</ExternalQuestion>\n"
    )


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

#: Height of an external-mode HIT's frame on the worker's page.
FRAME_HEIGHT = 900
