"""One error vocabulary: every deliberate exception is an `IgluError`, and the CLI tells a
person's mistake (one line, its exit code) from a bug (a traceback)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys

import pytest

import iglu_lib
from iglu_lib import cli
from iglu_lib.errors import CampaignStopped, IgluError


def _library_exceptions() -> list[type[BaseException]]:
    found = []
    for info in pkgutil.walk_packages(iglu_lib.__path__, "iglu_lib."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == module.__name__:
                found.append(value)
    return found


def test_every_exception_the_library_defines_is_an_iglu_error():
    exceptions = _library_exceptions()
    assert len(exceptions) > 40  # the walk really found the library's exceptions
    strays = [f"{e.__module__}.{e.__qualname__}" for e in exceptions if not issubclass(e, IgluError)]
    assert strays == []


_BUILD_PARSER = cli.build_parser


def _parser_with(handler):
    parser = _BUILD_PARSER()
    parser.set_defaults(command="boom", handler=handler)
    return parser


def test_an_iglu_error_is_one_line_with_its_exit_code(monkeypatch, capsys):
    def fails(args):
        raise CampaignStopped("the storage key is wrong; set AZURE_STORAGE_CONNECTION_STRING and rerun")

    monkeypatch.setattr(cli, "build_parser", lambda: _parser_with(fails))
    assert cli.main([]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "iglu boom: the storage key is wrong; set AZURE_STORAGE_CONNECTION_STRING and rerun"


def test_an_own_exit_code_is_kept(monkeypatch, capsys):
    class Refused(IgluError):
        exit_code = 3

    def fails(args):
        raise Refused("refused")

    monkeypatch.setattr(cli, "build_parser", lambda: _parser_with(fails))
    assert cli.main([]) == 3


def test_any_other_exception_is_a_bug_with_its_traceback(monkeypatch):
    def fails(args):
        return {}["missing"]

    monkeypatch.setattr(cli, "build_parser", lambda: _parser_with(fails))
    with pytest.raises(KeyError):
        cli.main([])


def test_python_dash_m_reports_a_user_error_in_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "iglu_lib.cli", "crowd", "check-onboarding", "--answer-file", str(tmp_path / "none.txt")],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().startswith("iglu crowd: ")
    assert "answer file not found" in result.stderr
    assert "Traceback" not in result.stderr
