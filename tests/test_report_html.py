"""`iglu report`: the analysis notebook as one HTML page to share, on the bundled real export."""

from __future__ import annotations

import os
import re

from iglu_lib.cli import main


def test_report_of_the_bundled_export_is_a_page_without_code(test_outputs, capsys):
    html_file = test_outputs / "report" / "report.html"
    assert main(["report", "--html", str(html_file), "--replicates", "50"]) == 0
    assert f"wrote {html_file}" in capsys.readouterr().out
    page = html_file.read_text(encoding="utf-8")
    # no code: neither the notebook's imports nor its calls, and no prompt numbers
    for code in ("from iglu_lib", "analyze(games", "plots.png(", "In&nbsp;[", "explorer(games"):
        assert code not in page, f"code {code!r} leaked into the report"
    assert "jp-CodeCell" in page and "jp-OutputArea" in page, "the outputs of code cells are kept"
    # the figures are embedded, nothing is fetched from the network
    assert len(re.findall(r'src="data:image/png;base64,', page)) >= 3  # wins, strengths, per task
    assert not re.search(r"<script[^>]*\bsrc=", page), "a shared page loads no script"
    assert "widget-state" not in page
    # the ranking with intervals, the sensitivity view and the order
    assert "Order: <strong>" in page and "strength_low" in page and "p_best" in page
    assert "strength_all" in page and "strength_ok_codes" in page
    for agent in ("MHB", "Felipe", "Happy"):
        assert agent in page
    assert "application/vnd.jupyter.widget-view+json" not in page and "VBox(" not in page
    assert "<title>IGLU human evaluation: the published export</title>" in page
    assert os.environ["IGLU_WORKER_ID_SALT"] not in page
    # the numbers behind the page are kept beside it
    assert (html_file.parent / "report_files" / "analysis" / "ranking.csv").is_file()


def test_report_refuses_no_replicates(capsys, tmp_path):
    assert main(["report", "--html", str(tmp_path / "r.html"), "--replicates", "0"]) == 2
    assert "--replicates must be at least 1" in capsys.readouterr().err
