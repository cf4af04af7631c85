"""The MTurk service model that botocore ships, used to validate requests and shape responses.

Writing the operations' shapes by hand would drift from what boto3 sends and expects; reading
botocore's model keeps the server's input checks and output serialisation (member names,
timestamps as epoch seconds, nothing the model does not know) identical to the real service's.
"""

from __future__ import annotations

import datetime as dt
import math
from functools import cached_property
from typing import Any

from iglu_lib.local.mturk.errors import ParameterValidationError, ProtocolError, RequestError

#: What the service's number fields hold: Java's int and long.
INTEGER_RANGES = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
#: Timestamps the service (and every client's datetime) can represent: years 1 to 9999.
EPOCH_RANGE = (-62135596800.0, 253402300799.0)


class ServiceModel:
    """Operations, input validation and output serialisation of `mturk` (API 2017-01-17)."""

    @cached_property
    def _model(self) -> Any:
        import botocore.session

        return botocore.session.get_session().get_service_model("mturk")

    @property
    def target_prefix(self) -> str:
        return self._model.metadata["targetPrefix"]

    def operation(self, name: str) -> Any:
        if name not in self._model.operation_names:
            raise ProtocolError("UnknownOperationException", f"Unknown operation {name!r}")
        return self._model.operation_model(name)

    def parse_input(self, operation: Any, params: Any) -> dict[str, Any]:
        """Validate a request body against the input shape; timestamps become epoch floats."""
        from botocore.validate import ParamValidator

        if not isinstance(params, dict):
            raise ProtocolError("SerializationException", "The request body must be a JSON object")
        shape = operation.input_shape
        if shape is None:
            return {}
        try:
            report = ParamValidator().validate(params, shape)
        except (RuntimeError, OverflowError, OSError, ValueError):
            # botocore's validator raises (RuntimeError) on a timestamp no datetime can hold
            raise ParameterValidationError(
                f"A timestamp of {operation.name} is not valid: give a time between the years 1 and 9999"
            ) from None
        if report.has_errors():
            raise RequestError(report.generate_report(), "AWS.ParameterOutOfRange")
        out_of_range = _range_problems(params, shape, "")
        if out_of_range:
            raise ParameterValidationError("; ".join(out_of_range))
        problems = _upper_bound_problems(params, shape, "input")
        if problems:
            raise RequestError("; ".join(problems), "AWS.ParameterOutOfRange")
        return _timestamps_to_epoch(params, shape)

    def serialise_output(self, operation: Any, value: dict[str, Any]) -> dict[str, Any]:
        shape = operation.output_shape
        return _serialise(value, shape) if shape is not None else {}


def _range_problems(value: Any, shape: Any, path: str) -> list[str]:
    """Values the service's fields cannot hold: integers beyond int/long, timestamps outside
    years 1..9999 or not finite, strings outside an enumeration (a comparator, a status).
    Stored, any of them would break a later response."""
    kind = shape.type_name
    if kind in INTEGER_RANGES and isinstance(value, int) and not isinstance(value, bool):
        low, high = INTEGER_RANGES[kind]
        if not low <= value <= high:
            return [f"The value {value} is not valid for the parameter {path}: it must be within {low}..{high}"]
    if kind == "timestamp":
        try:
            epoch = _epoch(value)
        except (ValueError, OverflowError, OSError, TypeError):
            epoch = math.nan
        if not (math.isfinite(epoch) and EPOCH_RANGE[0] <= epoch <= EPOCH_RANGE[1]):
            return [f"The value {str(value)[:40]!r} is not valid for the parameter {path}: "
                    "give a time between the years 1 and 9999"]
    enum = getattr(shape, "enum", None) if kind == "string" else None
    if enum and isinstance(value, str) and value not in enum:
        return [f"The value {value[:40]!r} is not valid for the parameter {path}: "
                f"give one of {', '.join(enum)}"]
    problems = []
    if kind == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                problems += _range_problems(value[name], member, f"{path}.{name}" if path else name)
    elif kind == "list" and isinstance(value, list):
        for i, item in enumerate(value):
            problems += _range_problems(item, shape.member, f"{path}[{i}]")
    return problems


def _upper_bound_problems(value: Any, shape: Any, path: str) -> list[str]:
    """botocore checks only lower bounds client-side; the service also enforces the upper."""
    limit = shape.metadata.get("max")
    problems = []
    if limit is not None:
        size = len(value) if isinstance(value, str | list | dict) else value
        if isinstance(size, int) and size > limit:
            problems.append(f"Value {value!r} at '{path}' must be at most {limit}")
    if shape.type_name == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                problems += _upper_bound_problems(value[name], member, f"{path}.{name}")
    elif shape.type_name == "list" and isinstance(value, list):
        for i, item in enumerate(value):
            problems += _upper_bound_problems(item, shape.member, f"{path}[{i}]")
    return problems


def _timestamps_to_epoch(value: Any, shape: Any) -> Any:
    if shape.type_name == "structure":
        return {
            name: _timestamps_to_epoch(item, shape.members[name])
            for name, item in value.items()
            if name in shape.members
        }
    if shape.type_name == "list":
        return [_timestamps_to_epoch(item, shape.member) for item in value]
    if shape.type_name == "timestamp":
        return _epoch(value)
    return value


def _epoch(value: Any) -> float:
    from botocore.utils import parse_timestamp

    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.timestamp()
    return parse_timestamp(value).timestamp()


def _serialise(value: Any, shape: Any) -> Any:
    if shape.type_name == "structure":
        return {
            name: _serialise(value[name], member)
            for name, member in shape.members.items()
            if value.get(name) is not None
        }
    if shape.type_name == "list":
        return [_serialise(item, shape.member) for item in value]
    if shape.type_name == "map":
        return {key: _serialise(item, shape.value) for key, item in value.items()}
    if shape.type_name == "timestamp":
        return round(_epoch(value), 3)
    return value
