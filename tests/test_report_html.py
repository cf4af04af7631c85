"""`iglu report`: the leaderboard page to share, on the bundled real export and on a campaign's
records: a headline from the numbers, the leaderboard, and nothing of a notebook dump (no index
columns, no scientific notation, no NaN, no machine paths, no script, everything embedded)."""

from __future__ import annotations

import base64
import os
import re
from html.parser import HTMLParser
from pathlib import Path

from iglu_lib.cli import main

LEADERBOARD_HEADER = ["Rank (95% range)", "Agent", "Strength [95% interval]", "P(best)", "Comparisons",
                      "Decisive win rate", "Ties"]


class Tables(HTMLParser):
    """Every table's header and rows, as text."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.links: list[tuple[str, str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "a":
            values = dict(attrs)
            self.links.append((values.get("download") or "", values.get("href") or ""))

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def check_page(page: str, agents: set[str]) -> Tables:
    """What every leaderboard page must hold, and must not."""
    parsed = Tables()
    parsed.feed(page)
    headline = re.search(r'<p class="headline">(.*?)</p>', page, re.S)
    assert headline, "the page opens with a headline"
    assert " leads (probability of being best " in headline.group(1)
    assert re.search(r"settled at 95%", headline.group(1))
    board = next(t for t in parsed.tables if t and t[0] == LEADERBOARD_HEADER)
    assert {row[1] for row in board[1:]} == agents
    for row in board[1:]:
        assert re.fullmatch(r"\d+ \(\d+(–\d+)?\)", row[0]), row
        assert re.fullmatch(r"[+−]?\d+\.\d\d \[[+−]?\d+\.\d\d, [+−]?\d+\.\d\d\]", row[2]), row
        assert re.fullmatch(r"(<1|>99|\d{1,3})%", row[3]), row
    visible = re.sub(r'(src|href)="data:[^"]*"', "", page)
    text = re.sub(r"<style>.*?</style>", "", visible, flags=re.S)
    assert not re.search(r"\d\.?\d*e[+-]\d\d", text), "no scientific notation"
    assert not re.search(r"\bNaN\b|\bnan\b|\bNone\b", text), "no NaN or None cells"
    for table in parsed.tables:
        header, first = table[0], [row[0] for row in table[1:]]
        assert header[0] not in ("", "0", "index", "Unnamed: 0"), f"no index column: {header}"
        assert not first or first != [str(i) for i in range(len(first))], f"no index column: {header}"
    for path in (str(Path.cwd()), str(Path.home()), "/tmp", "/work", "outputs/"):
        assert path not in text, f"a machine path {path!r} on the page"
    assert not re.search(r"<script", page), "a shared page runs no script"
    assert "wrote " not in text and "files to" not in text
    assert len(re.findall(r'src="data:image/png;base64,', page)) >= 4  # strengths, pairs x2, per task
    assert 'class="scroll"' in page, "wide tables scroll in their own box"
    assert os.environ["IGLU_WORKER_ID_SALT"] not in page
    return parsed


def test_the_page_of_the_bundled_export_reads_as_a_leaderboard(test_outputs, capsys):
    html_file = test_outputs / "report" / "report.html"
    assert main(["report", "--html", str(html_file), "--replicates", "200"]) == 0
    assert f"wrote {html_file}" in capsys.readouterr().out
    page = html_file.read_text(encoding="utf-8")
    parsed = check_page(page, {"Happy", "MHB", "Felipe"})
    headline = re.search(r'<p class="headline">(.*?)</p>', page, re.S).group(1)
    assert headline.startswith("Happy leads") and "Happy &gt; MHB" in headline and "Felipe is last with" in headline
    assert "with only ok completion codes the order is MHB &gt; Happy &gt; Felipe" in headline
    assert "<title>IGLU human evaluation: the published export</title>" in page
    # the published export lacks shown order and worker ids: one line each, no table of NaN
    assert "Position bias: the shown order of the games is not recorded in this input." in page
    assert "The input has no worker ids, so judges cannot be tested." in page
    assert "Krippendorff's alpha (nominal) 0.46" in page
    # the next step names the unsettled pairs with the comparisons they need
    step = next(t for t in parsed.tables if t and t[0][0] == "Pair")
    assert {row[0] for row in step[1:]} == {"Happy &gt; MHB".replace("&gt;", ">"), "Happy > Felipe", "MHB > Felipe"}
    assert all(re.fullmatch(r"\d+ \(\d+–\d+\)", row[3]) for row in step[1:]), step
    # the worker quality is counts (a few rows), not one row per HIT
    quality = next(t for t in parsed.tables if t and t[0][:2] == ["What", "Value"])
    assert len(quality) < 20 and ["completion code", "ok", "113"] in quality
    # the full tables are downloads embedded in the page
    downloads = {name: href for name, href in parsed.links if name.endswith(".csv")}
    assert {"leaderboard.csv", "per_task.csv", "ranking.csv", "sensitivity.csv", "comparisons.csv"} <= set(downloads)
    csv = base64.b64decode(downloads["leaderboard.csv"].split(",", 1)[1]).decode()
    assert csv.splitlines()[0].startswith("rank,rank_low,rank_high,agent,strength") and "Happy" in csv
    # the sensitivity views stand side by side
    views = next(t for t in parsed.tables if t and t[0][:3] == ["Agent", "All comparisons", "Completion codes ok"])
    assert len(views) == 4


def test_report_refuses_no_replicates(capsys, tmp_path):
    assert main(["report", "--html", str(tmp_path / "r.html"), "--replicates", "0"]) == 2
    assert "--replicates must be at least 1" in capsys.readouterr().err


def test_paper_files_are_latex_markdown_pdf_and_300_dpi_png(tmp_path, capsys):
    from PIL import Image

    out, paper = tmp_path / "analysis", tmp_path / "paper"
    assert main(["analyze", "--out", str(out), "--latex", str(paper), "--replicates", "100"]) == 0
    assert f"wrote {len(list(out.iterdir())) + len(list(paper.iterdir()))} files" in capsys.readouterr().out
    latex = (paper / "leaderboard.tex").read_text()
    assert r"\toprule" in latex and "Happy" in latex and r"\%" in latex and "$-$" in latex
    assert r"\label{tab:sensitivity}" in (paper / "sensitivity.tex").read_text()
    assert (paper / "leaderboard.md").read_text().startswith("| Rank (95% range)")
    for figure in ("strengths", "win_fractions", "comparisons_per_pair", "per_task"):
        assert (paper / f"{figure}.pdf").read_bytes().startswith(b"%PDF")
        with Image.open(paper / f"{figure}.png") as image:
            assert round(image.info["dpi"][0]) == 300, figure
