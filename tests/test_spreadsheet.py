"""The spreadsheet escape: formula-leading text gets a leading quote, numbers stay numbers,
and the escape is undone exactly, in Python and in the vectorised Arrow path alike."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from iglu_lib.spreadsheet import (
    escape_arrow_column,
    escape_cell,
    escape_frame,
    unescape_cell,
    unescape_frame,
)

CELLS = ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx", "'=x", "''@x", "'plain",
         "plain", "", "-3.5", "+4", "1e-3", "-.5", "-", "+", "=", "'", "ünïcode", "-x", " =x"]


@pytest.mark.parametrize("cell", CELLS)
def test_escape_is_safe_and_reversible(cell):
    escaped = escape_cell(cell)
    runs = escaped[:1] in ("=", "+", "-", "@", "\t", "\r")
    assert not runs or cell in ("-3.5", "+4", "-.5")  # plain numbers only
    assert unescape_cell(escaped) == cell


def test_numbers_and_other_values_are_left_alone():
    assert escape_cell(-3.5) == -3.5 and escape_cell(None) is None and escape_cell(7) == 7
    frame = pd.DataFrame({"x": [-1.5, 2.0], "t": ["=a", "b"]})
    escaped = escape_frame(frame)
    assert escaped["x"].tolist() == [-1.5, 2.0] and escaped["t"].tolist() == ["'=a", "b"]
    assert unescape_frame(escaped).equals(frame)


@pytest.mark.parametrize("kind", [pa.string(), pa.large_string()])
def test_arrow_path_agrees_with_python(kind):
    values = [*CELLS, None]
    chunked = pa.chunked_array([pa.array(values[:7], kind), pa.array(values[7:], kind)])
    assert escape_arrow_column(chunked).to_pylist() == [escape_cell(v) for v in values]
    sliced = pa.array(values, kind).slice(3, 9)
    assert escape_arrow_column(sliced).to_pylist() == [escape_cell(v) for v in values[3:12]]
    untouched = pa.array(["a", "b"], kind)
    assert escape_arrow_column(untouched) is untouched
