"""Files for a paper (`iglu analyze --latex DIR`, notebook 06's `paper_dir`): the leaderboard and
the sensitivity table as LaTeX (booktabs) and Markdown, and every figure of the page as vector
PDF and 300-dpi PNG. The tables are the page's readable ones (rounded, no index), so the paper
and the shared page say the same."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from iglu_lib.analysis.report import Analysis

log = logging.getLogger(__name__)

#: Resolution of the raster figures.
PNG_DPI = 300

_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                  "\N{MINUS SIGN}": "$-$", "\N{EN DASH}": "--"}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def latex_table(table: pd.DataFrame, caption: str, label: str) -> str:
    """A booktabs table (needs `\\usepackage{booktabs}`), every cell escaped."""
    spec = "l" * len(table.columns)
    lines = [r"\begin{table}[t]", r"\centering", f"\\begin{{tabular}}{{{spec}}}", r"\toprule",
             " & ".join(latex_escape(c) for c in table.columns) + r" \\", r"\midrule"]
    lines += [" & ".join(latex_escape(v) for v in row) + r" \\" for row in table.itertuples(index=False)]
    lines += [r"\bottomrule", r"\end{tabular}", f"\\caption{{{latex_escape(caption)}}}", f"\\label{{{label}}}",
              r"\end{table}"]
    return "\n".join(lines) + "\n"


def write_paper_files(analysis: Analysis, out_dir: str | Path) -> list[Path]:
    """Write `leaderboard.tex/.md`, `sensitivity.tex/.md` and `<figure>.pdf/.png`; returns the paths."""
    from iglu_lib.analysis import leaderboard

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    board = leaderboard.readable_leaderboard(leaderboard.leaderboard(analysis))
    views, _ = leaderboard.sensitivity_views(analysis)
    level = f"{analysis.ranking.level:.0%}"
    tables = {
        "leaderboard": (board, f"Leaderboard: strengths (log-odds) with {level} intervals, rank ranges and "
                               "probability of being best from posterior draws."),
        "sensitivity": (views, f"Sensitivity of the ranking: rank, strength and {level} interval in each view."),
    }
    written = []
    for name, (table, caption) in tables.items():
        (out / f"{name}.tex").write_text(latex_table(table, caption, f"tab:{name}"), encoding="utf-8")
        (out / f"{name}.md").write_text(table.to_markdown(index=False) + "\n" if len(table) else "(no rows)\n",
                                        encoding="utf-8")
        written += [out / f"{name}.tex", out / f"{name}.md"]
    for name, figure in leaderboard.figures(analysis).items():
        figure.savefig(out / f"{name}.pdf", format="pdf")
        figure.savefig(out / f"{name}.png", format="png", dpi=PNG_DPI)
        written += [out / f"{name}.pdf", out / f"{name}.png"]
    log.info("wrote %d files for a paper to %s", len(written), out)
    return written
