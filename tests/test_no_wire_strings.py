"""`collection` (the campaign loop) and `crowd` (the crowd tasks and our study pages) speak the
workbench's own nouns; each crowd service's wire strings (MTurk's operation, field and status
names, Prolific's field names, statuses, categories and paths) belong to its provider package
(`iglu_lib.mturk`, `iglu_lib.prolific`). A wire string creeping into the loop welds it to one
crowd again, so this test reads every string constant of both packages and names each one that
a service's published API description holds: botocore's MTurk service model, and the models
`pyrolific` generates from Prolific's OpenAPI description."""

from __future__ import annotations

import ast
import enum
import inspect
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("iglu_lib/collection", "iglu_lib/crowd")

#: Words the people who use MTurk say too (a column "HIT" on the review desk), not only fields.
PLAIN_WORDS = frozenset({"HIT"})
#: Our own names that a service happens to use too, and why they are ours.
OUR_WORDS = {
    "completion_code": "the IGLU platform's completion code of a game, a column of our records",
}


@cache
def mturk_wire() -> frozenset[str]:
    """MTurk's operations (as boto3 and the wire name them), structure members and enum values."""
    import botocore.session
    from botocore import xform_name

    model = botocore.session.get_session().get_service_model("mturk")
    words = set(model.operation_names) | {xform_name(name) for name in model.operation_names}
    for name in model.shape_names:
        shape = model.shape_for(name)
        if shape.type_name == "structure":
            words |= set(shape.members)
        words |= set(getattr(shape, "enum", None) or ())
    return frozenset(w for w in words if len(w) > 2) - PLAIN_WORDS


@cache
def prolific_wire() -> frozenset[str]:
    """Prolific's upper-case enum values (statuses, categories, actions) and its snake_case field
    names; plain words (fields such as `status`, lower-case values such as `single`) are
    everyone's and left out."""
    import pyrolific.models as models

    words: set[str] = set()
    for _, member in inspect.getmembers(models, inspect.isclass):
        if issubclass(member, enum.Enum):
            words |= {str(item.value) for item in member if str(item.value).isupper()}
        elif hasattr(member, "to_dict"):
            words |= set(re.findall(r'd\.pop\("([a-z]+_[a-z_]+)"', inspect.getsource(member)))
    return frozenset(w for w in words if len(w) > 3) - set(OUR_WORDS)


def string_constants(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def wire_strings_in(path: Path, root: Path = ROOT) -> list[str]:
    found = []
    for line, text in string_constants(path):
        if text in mturk_wire():
            found.append(f"{path.relative_to(root)}:{line}: MTurk's {text!r}")
        elif text in prolific_wire() or text.startswith("/api/v1"):
            found.append(f"{path.relative_to(root)}:{line}: Prolific's {text!r}")
    return found


def modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_loop_and_the_crowd_tasks_hold_no_wire_string_of_a_crowd_service(path: Path) -> None:
    assert wire_strings_in(path) == []


def test_the_vocabularies_hold_what_each_service_names() -> None:
    """The test bites only if the vocabularies are real: known wire strings of each service."""
    assert {"ListAssignmentsForHIT", "list_assignments_for_hit", "WorkerId", "Submitted",
            "QualificationTypeId", "DiscoverPreviewAndAccept"} <= mturk_wire()
    assert {"AWAITING REVIEW", "TIMED-OUT", "participant_id", "total_available_places",
            "LOW_EFFORT"} <= prolific_wire()


def test_a_wire_string_in_the_loop_is_named(tmp_path: Path) -> None:
    module = tmp_path / "loop.py"
    module.write_text('"""Docstrings may say AssignmentStatus."""\nstatus = "Submitted"\n'
                      'path = "/api/v1/studies/"\nplace = "places_taken"\nour = "submitted"\n')
    assert wire_strings_in(module, tmp_path) == ["loop.py:2: MTurk's 'Submitted'", "loop.py:3: Prolific's '/api/v1/studies/'",
                                       "loop.py:4: Prolific's 'places_taken'"]
