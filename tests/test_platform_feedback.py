"""The published export read back, its data-quality report, and the pseudonymized export."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from iglu_lib.collection.export import export_games
from iglu_lib.platform.feedback import (
    PUBLISHED_COLUMNS,
    FeedbackFormatError,
    feedback_report,
    read_feedback,
    write_feedback,
)
from iglu_lib.platform.privacy import PrivacyError, pseudonym

ROOT = Path(__file__).resolve().parents[1]
EXPORT = ROOT / "iglu_lib/data/human_evaluation/human_agent_feedback.csv"
WORKER_IDS = {
    "A3SXZL66TVNQQG",
    "A1E20NMMEOXM0T",
    "A1EVO152C6YOER",
    "A2L10O5EU1ZMVY",
    "A3M04KCSI0ECGL",
    "A2E3G70OBH0W01",
}


@pytest.fixture(scope="module")
def export():
    return read_feedback(EXPORT)


def test_the_real_export_reads_with_its_published_counts(export):
    report = feedback_report(export)
    assert report["rows"] == 422
    assert report["hits"] == 211
    assert report["games_per_hit"] == {"2": 211}
    assert report["annotations"] == {"empty": 282, "valid": 139, "invalid": 1}
    assert report["codes_by_field_count"] == {"7": 113}
    codes = dict(report["completion_codes"])
    assert (codes.pop("ok"), codes.pop("missing")) == (113, 282)
    assert (codes.pop("worker_id_pasted"), codes.pop("join_command_pasted")) == (20, 2)
    assert sum(codes.values()) == 422 - 113 - 282 - 20 - 2
    assert set(codes) <= {
        "empty_code",
        "not_base64",
        "not_gzip",
        "wrong_field_count",
        "human_challenge",
    }
    assert report["code_game_id_differs"]["rows"] == 23
    assert report["worker_ids"]["distinct"] == len(WORKER_IDS)
    assert report["worker_ids"]["occurrences"] == 20
    assert not (WORKER_IDS & set(json.dumps(report).split('"')))
    named = feedback_report(export, salt="k")["worker_ids"]["pseudonyms"]
    assert named == sorted(pseudonym(w, "k") for w in WORKER_IDS)


def test_the_invalid_annotation_stays_raw_text(export):
    invalid = export[export["annotation_status"] == "invalid"]
    assert len(invalid) == 1
    raw = invalid.iloc[0]["Annotation"]
    assert raw.startswith('{{"was_chosen_best"') and invalid.iloc[0]["annotation"] is None
    valid = export[export["annotation_status"] == "valid"].iloc[0]
    assert json.loads(valid["Annotation"]) == valid["annotation"]
    assert set(PUBLISHED_COLUMNS) <= set(export.columns)


def test_export_again_has_no_raw_worker_id_and_keeps_every_other_byte(export, tmp_path):
    out = write_feedback(export, tmp_path / "again.csv", salt="s3cret")
    text = out.read_text()
    assert not any(worker in text for worker in WORKER_IDS)
    assert pseudonym("A3SXZL66TVNQQG", "s3cret") in text
    original = EXPORT.read_text().split("\n")
    written = text.split("\n")
    assert written[0] == ",".join(PUBLISHED_COLUMNS)
    changed = [a for a, b in zip(original, written, strict=True) if a != b]
    assert len(changed) == 20 and all(any(w in line for w in WORKER_IDS) for line in changed)
    again = feedback_report(read_feedback(out))
    assert again["completion_codes"] == feedback_report(export)["completion_codes"]
    assert again["worker_ids"]["occurrences"] == 0


def test_extra_columns_only_behind_the_flag_and_worker_columns_pseudonymized(export, tmp_path):
    frame = export.head(4).copy()
    frame["WorkerId"] = ["A3SXZL66TVNQQG", "lowercase-worker", "NA", ""]
    frame["Annotation"] = [{"was_chosen_best": True, "note": "mail a@b.org"}, "{}", "", "NA"]
    plain = write_feedback(frame, tmp_path / "plain.csv", salt="k").read_text()
    assert plain.splitlines()[0] == ",".join(PUBLISHED_COLUMNS)
    extra = read_feedback(
        write_feedback(frame, tmp_path / "extra.csv", salt="k", extra_columns=True)
    )
    assert list(extra.columns[:7]) == [*PUBLISHED_COLUMNS, "WorkerId"]
    assert list(extra["WorkerId"]) == [
        pseudonym("A3SXZL66TVNQQG", "k"),
        pseudonym("lowercase-worker", "k"),
        "NA",
        "",
    ]
    assert "annotation_status" not in (tmp_path / "extra.csv").read_text().splitlines()[0]
    assert extra["annotation"][0] == {"was_chosen_best": True, "note": "mail [email]"}


def test_export_refuses_without_a_salt(export, tmp_path):
    with pytest.raises(PrivacyError):
        write_feedback(export, tmp_path / "x.csv", salt="")
    assert not (tmp_path / "x.csv").exists()


def test_files_that_are_not_exports_get_a_clear_error(tmp_path):
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("HitId,AgentName\n1,MHB\n")
    with pytest.raises(FeedbackFormatError, match="wrong.csv: missing column.*GameMinecraftId"):
        read_feedback(wrong)


def test_hostile_cells_are_kept_as_text(tmp_path):
    hostile = tmp_path / "hostile.csv"
    hostile.write_text(
        ",".join(PUBLISHED_COLUMNS) + "\n"
        'H1,=cmd(),NA,"<b>x</b>","{""a"": ""&amp; <!ENTITY x>""}","a,b"\n'
        "H1,g2,NA,MHB,[1],\n"
    )
    frame = read_feedback(hostile)
    assert list(frame["annotation_status"]) == ["valid", "invalid"]
    assert list(frame["code_status"]) == ["not_base64", "missing"]
    assert frame.iloc[0]["GameMinecraftId"] == "=cmd()"


def test_import_feedback_cli_prints_the_report():
    result = subprocess.run(
        [sys.executable, "-m", "iglu_lib.cli", "import", "feedback", str(EXPORT), "--json"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    report = json.loads(result.stdout)
    assert report["rows"] == 422 and report["completion_codes"]["missing"] == 282
    assert "pseudonyms" not in report["worker_ids"]


def test_import_feedback_cli_names_a_bad_file(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("just,some\ncolumns,here\n")
    result = subprocess.run(
        [sys.executable, "-m", "iglu_lib.cli", "import", "feedback", str(bad), "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert (
        result.returncode == 2 and "bad.csv" in result.stderr and "Traceback" not in result.stderr
    )


def test_import_feedback_cli_lists_pseudonyms_with_a_profiles_salt():
    import os

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "iglu_lib.cli",
            "import",
            "feedback",
            str(EXPORT),
            "--json",
            "--pseudonyms",
            "sandbox",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "IGLU_WORKER_ID_SALT": "cli-salt"},
    )
    assert result.returncode == 0, result.stderr
    named = json.loads(result.stdout)["worker_ids"]["pseudonyms"]
    assert named == sorted(pseudonym(w, "cli-salt") for w in WORKER_IDS)
    assert not any(w in result.stdout for w in WORKER_IDS)


FORMULAS = ['=HYPERLINK("http://evil.test","click")', "@SUM(A1:A9)", "+cmd|' /C calc'!A0",
            "-2+3+cmd|' /C calc'!A0", "\t=1+1", "'=already quoted"]


def _formula_cells(path: Path) -> list[str]:
    """The cells of a CSV file that a spreadsheet would run as formulas."""
    import csv

    with path.open(newline="", encoding="utf-8") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    return [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r") and not _number(c)]


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_a_formula_from_a_worker_reaches_the_export_escaped_and_reads_back_intact(export, tmp_path):
    frame = export.head(len(FORMULAS)).copy()
    frame["AgentName"] = FORMULAS
    frame["CompletionCode"] = list(reversed(FORMULAS))
    frame["Annotation"] = FORMULAS
    frame["HitId"] = ["-3.5", "12", "+4", "-1e3", "-x", ".5"]
    out = write_feedback(frame, tmp_path / "safe.csv", salt="k")
    assert _formula_cells(out) == []
    raw = write_feedback(frame, tmp_path / "raw.csv", salt="k", raw=True)
    as_written = pd_read(raw)  # the cells as the export writes them (links scrubbed)
    assert "'=HYPERLINK" not in raw.read_text() and _formula_cells(raw)
    assert as_written["AgentName"][0] == '=HYPERLINK("[url]","click")'
    assert list(as_written["AgentName"][1:]) == FORMULAS[1:]
    back = read_feedback(out)  # the workbench's reader undoes the escape
    assert back[list(PUBLISHED_COLUMNS)].equals(as_written)
    assert set(back["annotation_status"]) == {"invalid"}
    text = out.read_text()
    assert "'=HYPERLINK" in text and "'@SUM" in text and "''=already quoted" in text
    assert "'-x" in text and "'-3.5" not in text and "'+4" not in text  # numbers stay numbers


def pd_read(path: Path):
    import pandas as pd

    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_a_partial_hit_exports_each_game_with_its_own_verdict(local_profile, unique_name, tmp_path):
    """The loop pays a `partial` HIT as a whole (every row `approved`); the export is per
    game: the rejected game is exported as rejected, never among the approved ones."""
    from iglu_lib.scheduling import Scheduler
    from iglu_lib.storage import GameRecords

    table = unique_name("records")
    records = GameRecords.open(local_profile, unique_name("campaign-"), table_name=table)
    try:
        join_codes = {"task-0": {"task_join_code": "/plaiground:join-task-with-agent T:C:tid0",
                                 "task_id": "tid0"}}
        instances = {a: [{"agent_instance_id": f"{a}0", "agent_instance_name": a}] for a in "AB"}
        games = records.plan(Scheduler.from_content(join_codes, instances, 2, seed=1).next())
        games = records.update_all(games, status="hit_created", hit_id="HIT1")
        games = records.update_many([
            (games[0], {"status": "submitted", "verdict": "approve", "game_minecraft_id": "good",
                        "annotation": {"agent_performance": "=HYPERLINK(\"x\")"},
                        "worker_id": "A1B2C3D4E5F6G7", "is_hit_qualified": False}),
            (games[1], {"status": "submitted", "verdict": "reject", "game_minecraft_id": "bad",
                        "reasons": ["too_few_turns"], "worker_id": "A1B2C3D4E5F6G7",
                        "is_hit_qualified": False})])
        records.update_all(games, status="approved")  # what the loop does with a partial HIT
        salt = local_profile.backend.worker_id_salt()
        approved = read_feedback(export_games(records, tmp_path / "approved.csv", salt=salt,
                                                 extra_columns=True))
        assert list(approved["GameMinecraftId"]) == ["good"]
        assert list(approved["Status"]) == ["approved"]
        rejected = read_feedback(export_games(records, tmp_path / "rejected.csv", salt=salt,
                                                 statuses=("rejected",), extra_columns=True))
        assert list(rejected["GameMinecraftId"]) == ["bad"]
        assert list(zip(rejected["Status"], rejected["Verdict"], strict=True)) == [("rejected", "reject")]

        cli = subprocess.run(
            [sys.executable, "-m", "iglu_lib.cli", "records", "export", "--campaign",
             records.campaign, "--table", table, "--out", str(tmp_path / "cli.csv"),
             "--status", "approved", "--status", "rejected", "--extra-columns"],
            capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert cli.returncode == 0, cli.stderr
        both = read_feedback(tmp_path / "cli.csv")
        assert dict(zip(both["GameMinecraftId"], both["Status"], strict=True)) == {"good": "approved",
                                                                      "bad": "rejected"}
        assert not _formula_cells(tmp_path / "cli.csv")
        assert both.set_index("GameMinecraftId")["annotation"]["good"] == {
            "agent_performance": "=HYPERLINK(\"x\")"}
    finally:
        local_profile.backend.table_service().delete_table(table)
