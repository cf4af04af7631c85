"""Parameter schemas: the shared types and the one-line errors of every parameter model.

Campaign parameters (`iglu_lib.collection.params`), profile sections (`iglu_lib.settings`) and
notebook parameters (`iglu_lib.notebook_params`) are pydantic models built from the types
below. A file that breaks its model is refused with ONE line (`ParameterError`) naming the
file, the key, the value found and what is allowed, with the closest known name for a typo,
because a researcher must fix it before any money is spent, and a traceback says neither.
What "allowed" says comes from the model's JSON schema, so the error and the generated
parameter reference (`iglu params reference`) can never disagree.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BeforeValidator, Field, Strict, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

from iglu_lib.errors import ParameterError

T = TypeVar("T")

#: JSON-schema key a type uses to say in words what it accepts (used where the schema's own
#: words, such as a pattern, would not help a person).
ALLOWED = "x-allowed"

#: A whole number; `true`, `1.5` and `1e12` (a float in YAML) are refused, not converted.
Whole = Annotated[int, Strict()]
#: True or false; `1` or `"yes"` are refused, not converted.
Flag = Annotated[bool, Strict()]


def _no_bool(value: Any) -> Any:
    """A number parameter refuses `true`/`false` (Python would read them as 1 and 0)."""
    if isinstance(value, bool):
        raise PydanticCustomError("bool_for_number", "true/false is not a number")
    return value


#: A number (whole or decimal); `true` is refused.
Number = Annotated[float, BeforeValidator(_no_bool)]


def _money_text(value: Any) -> Any:
    """`0.2`, `60` and `"60.00"` all become text (Decimal reads text exactly); true stays refused."""
    if isinstance(value, bool):
        raise PydanticCustomError("bool_for_number", "true/false is not an amount")
    return str(value) if isinstance(value, (int, float, Decimal)) else value


def _finite_amount(value: str) -> str:
    try:
        amount = Decimal(value.strip())
    except InvalidOperation:
        raise PydanticCustomError("amount", "not an amount") from None
    if not amount.is_finite() or amount < 0:
        raise PydanticCustomError("amount", "not a finite amount of at least 0")
    return value.strip()


#: An amount (dollars or a rate) kept as text, finite and at least 0; see `between`.
Amount = Annotated[str, BeforeValidator(_money_text), AfterValidator(_finite_amount)]


def between(low: str, high: str) -> AfterValidator:
    """The inclusive range of an `Amount`: `Annotated[Amount, between("0", "1"), words("...")]`."""
    def check(value: str) -> str:
        if not Decimal(low) <= Decimal(value) <= Decimal(high):
            raise PydanticCustomError("amount_range", "out of range")
        return value

    return AfterValidator(check)


def words(allowed: str) -> Any:
    """What a type accepts, in words, where its schema would not say it (errors and reference)."""
    return Field(json_schema_extra={ALLOWED: allowed})


#: Text that must not be blank.
Name = Annotated[str, Field(min_length=1, pattern=r"\S")]


def null_is(empty: Any) -> BeforeValidator:
    """`key:` left empty in YAML (null) means the empty list or mapping, as it always did."""
    return BeforeValidator(lambda value: type(empty)() if value is None else value)


def fail(key: str, message: str) -> PydanticCustomError:
    """An error of a check across keys (raised in a model validator), charged to `key`."""
    return PydanticCustomError("iglu", "{message}", {"message": message, "key": key})


def validate(schema: type[T], values: Any, source: str) -> T:
    """`values` as an instance of `schema`, or `ParameterError` with one line saying what is wrong."""
    adapter = TypeAdapter(schema)
    try:
        return adapter.validate_python(values)
    except ValidationError as err:
        raise ParameterError(error_line(err, adapter.json_schema(), source)) from None


def error_line(err: ValidationError, schema: Mapping[str, Any], source: str) -> str:
    """The first problem of `err` as a sentence (and how many more there are)."""
    # a typo is both an unknown key and a missing one: the unknown key says more (its closest name)
    problems = sorted(err.errors(include_url=False),
                      key=lambda p: p["type"] not in ("extra_forbidden", "unexpected_keyword_argument"))
    line = problem_text(problems[0], schema, source)
    more = len(problems) - 1
    return f"{line} (and {more} more problem{'s' if more > 1 else ''})" if more else line


def problem_text(problem: ErrorDetails, schema: Mapping[str, Any], source: str) -> str:
    """One problem: `<file>: <key> ...; allowed: ...`."""
    context = problem.get("ctx") or {}
    loc = tuple(problem["loc"])
    if context.get("key"):  # a check across keys names the key it is about
        loc += tuple(str(context["key"]).split("."))
    key = dotted(loc) or "the file"
    kind = problem["type"]
    if kind in ("extra_forbidden", "unexpected_keyword_argument"):
        parent = node_at(schema, loc[:-1])
        known = sorted((parent or {}).get("properties", {}))
        return f"{source}: unknown key {key}{suggestion(str(loc[-1]), known)}; known keys: {', '.join(known)}"
    node = node_at(schema, loc)
    allowed = describe(node, schema) if node is not None else ""
    tail = f"; allowed: {allowed}" if allowed else ""
    if kind in ("missing", "missing_argument"):
        return f"{source}: {key} is missing{tail}"
    if kind == "iglu":
        return f"{source}: {key}: {context['message']}"
    return f"{source}: {key} is {short(problem['input'])}, not allowed ({plain(problem['msg'])}){tail}"


def suggestion(name: str, known: Sequence[str]) -> str:
    """`; did you mean 'x'?` for the closest known name, or nothing."""
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def dotted(loc: Sequence[int | str]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def plain(message: str) -> str:
    """pydantic's message in the words of a YAML file (a list, not a tuple)."""
    message = message.lower().removeprefix("value error, ")
    return message.replace("valid tuple", "list").replace("valid list", "list").replace(
        "valid dictionary", "mapping").replace("input should be", "should be")


def short(value: Any) -> str:
    """The value as a YAML file writes it (true, null, 'text'), cut to fit the line."""
    text = "null" if value is None else str(value).lower() if isinstance(value, bool) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def resolve(node: Mapping[str, Any] | None, schema: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """A schema node with its `$ref` followed (into the schema's `$defs`)."""
    while node is not None and "$ref" in node:
        node = schema.get("$defs", {}).get(str(node["$ref"]).rsplit("/", 1)[-1])
    return node


def node_at(schema: Mapping[str, Any], loc: Sequence[int | str]) -> Mapping[str, Any] | None:
    """The schema node of the value at `loc` (None when the path leaves the schema)."""
    node: Mapping[str, Any] | None = schema
    for part in loc:
        node = _child(resolve(node, schema), part, schema)
        if node is None:
            return None
    return resolve(node, schema)


def _child(node: Mapping[str, Any] | None, part: int | str, schema: Mapping[str, Any]) -> Mapping[str, Any] | None:
    if node is None:
        return None
    for option in node.get("anyOf", []):
        found = _child(resolve(option, schema), part, schema)
        if found is not None:
            return found
    if isinstance(part, int):
        items = node.get("items")
        return items if isinstance(items, Mapping) else None
    properties = node.get("properties", {})
    if part in properties:
        return properties[part]
    extra = node.get("additionalProperties")
    return extra if isinstance(extra, Mapping) else None


def describe(node: Mapping[str, Any] | None, schema: Mapping[str, Any]) -> str:
    """What a schema node accepts, in words (the same words in errors and in the reference)."""
    node = resolve(node, schema)
    if not node:
        return "anything"
    if ALLOWED in node:
        return str(node[ALLOWED])
    if "enum" in node or "const" in node:
        return "one of " + " | ".join(_literal(v) for v in node.get("enum", [node.get("const")]))
    if "anyOf" in node:
        options = [o for o in node["anyOf"] if resolve(o, schema) != {"type": "null"}]
        words = " or ".join(describe(o, schema) for o in options)
        return words + (" or null" if len(options) < len(node["anyOf"]) else "")
    return _typed(node, schema)


def _typed(node: Mapping[str, Any], schema: Mapping[str, Any]) -> str:
    kind = node.get("type")
    if kind == "integer":
        return "a whole number" + _range(node)
    if kind == "number":
        return "a number" + _range(node)
    if kind == "boolean":
        return "true or false"
    if kind == "null":
        return "null"
    if kind == "string":
        return "text" + (" (not blank)" if node.get("minLength") else "")
    if kind == "array":
        return "a list, each " + describe(node.get("items"), schema)
    if kind == "object":
        keys = list(node.get("properties", {}))
        if keys:
            return "a mapping with the keys " + ", ".join(keys)
        extra = node.get("additionalProperties")
        return "a mapping" + (f" of names to {describe(extra, schema)}" if isinstance(extra, Mapping) else "")
    return "anything"


def _range(node: Mapping[str, Any]) -> str:
    """The bounds of a number in words (JSON schema's names, or pydantic's where a validator
    wraps the type)."""
    low = next(((word, node[k]) for k, word in (("minimum", "at least"), ("ge", "at least"),
                                                 ("exclusiveMinimum", "above"), ("gt", "above")) if k in node), None)
    high = next(((word, node[k]) for k, word in (("maximum", "at most"), ("le", "at most"),
                                                  ("exclusiveMaximum", "below"), ("lt", "below")) if k in node), None)
    if low and high and (low[0], high[0]) == ("at least", "at most"):
        return f" from {low[1]} to {high[1]}"
    return "".join(f" {word} {value}" if not index else f" and {word} {value}"
                   for index, (word, value) in enumerate(bound for bound in (low, high) if bound))


def _literal(value: Any) -> str:
    return "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
