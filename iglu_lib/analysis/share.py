"""Reports to share (`iglu report`): the leaderboard page (`render_page`, what `iglu report`
writes), and the analysis notebook executed and rendered to one HTML file without code
(`render_report`, kept for whoever wants the notebook's view, and the baseline of `make bench`).

The page is notebook 06 itself (through the papermill runner), so the report never drifts from
what a researcher sees in JupyterLab: the counts, the ranking with its intervals, the
sensitivity to dirty completion codes, position bias, per-task views and every figure, the
figures embedded as `data:image/png`. Widget outputs are dropped (a static page cannot run
them, and their text fallback says nothing), and so are stderr streams (warnings and logs).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: The notebook a report renders.
ANALYSIS_NOTEBOOK = "06_analysis"
#: Output types a static page cannot show.
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
TEMPLATES = Path(__file__).with_name("templates")


def report_parameters(
    input_file: str | Path | None = None,
    campaign: str | None = None,
    *,
    profile_name: str = "local",
    summaries_file: str | Path | None = None,
    replicates: int = 1000,
    seed: int = 0,
    out_dir: str | Path,
) -> dict[str, Any]:
    """Notebook 06's parameters for a report: the bundled IGLU human evaluation when neither
    an input file nor a campaign is given. The explorer is not run (a page cannot use it)."""
    return {
        "input_file": str(Path(input_file).resolve()) if input_file else None,
        "campaign": campaign,
        "profile_name": profile_name,
        "summaries_file": str(Path(summaries_file).resolve()) if summaries_file else None,
        "replicates": int(replicates),
        "seed": int(seed),
        "out_dir": str(out_dir),
        "explorer_replicates": 1,
    }


def render_report(
    html_out: str | Path,
    *,
    input_file: str | Path | None = None,
    campaign: str | None = None,
    profile_name: str = "local",
    summaries_file: str | Path | None = None,
    replicates: int = 1000,
    seed: int = 0,
) -> Path:
    """Execute the analysis notebook and write it as HTML to `html_out`; returns that path.

    The executed notebook and the analysis' tables and figures are kept beside the page
    (`<name>_files/`), for whoever wants the numbers behind it.
    """
    from iglu_lib.notebooks import run_notebook

    html_path = Path(html_out).resolve()
    side = html_path.with_name(f"{html_path.stem}_files")
    side.mkdir(parents=True, exist_ok=True)
    parameters = report_parameters(input_file, campaign, profile_name=profile_name, summaries_file=summaries_file,
                                   replicates=replicates, seed=seed, out_dir=side / "analysis")
    executed = run_notebook(ANALYSIS_NOTEBOOK, parameters=parameters, output=side / f"{ANALYSIS_NOTEBOOK}.ipynb",
                            progress=False)
    title = page_title(input_file, campaign)
    html_path.write_text(notebook_html(executed, title=title), encoding="utf-8")
    log.info("wrote the report %s (executed notebook %s)", html_path, executed)
    return html_path


def render_page(
    html_out: str | Path,
    *,
    input_file: str | Path | None = None,
    campaign: str | None = None,
    profile_name: str = "local",
    summaries_file: str | Path | None = None,
    replicates: int = 1000,
    seed: int = 0,
) -> Path:
    """The leaderboard page (`iglu report --html`) straight from the library: load, analyse,
    render one self-contained file (no notebook kernel, so it takes seconds, not a minute)."""
    from iglu_lib.analysis.leaderboard import write_page
    from iglu_lib.analysis.loading import load_input
    from iglu_lib.analysis.report import analyze

    games = load_input(str(input_file) if input_file else None, campaign=campaign, profile_name=profile_name,
                       summaries_file=str(summaries_file) if summaries_file else None, root=Path.cwd())
    analysis = analyze(games, replicates=replicates, seed=seed)
    return write_page(analysis, Path(html_out).resolve(), page_title(input_file, campaign))


def page_title(input_file: str | Path | None, campaign: str | None) -> str:
    """What the page is about, by name (never a folder path)."""
    return f"IGLU human evaluation: {campaign or (Path(input_file).name if input_file else 'the published export')}"


def notebook_html(notebook: str | Path, *, title: str | None = None) -> str:
    """An executed notebook as one HTML page: no code, no prompts, images inline, no script
    from the network, no widget or stderr output."""
    import nbformat
    from nbconvert import HTMLExporter

    node = nbformat.read(str(notebook), as_version=4)
    for cell in node.cells:
        if cell.cell_type == "code":
            cell.outputs = [out for out in cell.get("outputs", []) if _shown(out)]
    node.cells = [c for c in node.cells if c.cell_type != "code" or c.outputs]
    node.metadata.pop("widgets", None)  # widget state: only a live kernel could use it
    if title:
        node.metadata["title"] = title
    exporter = HTMLExporter(template_name="lab", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True, embed_images=True,
                            extra_template_paths=[str(TEMPLATES)], template_file="share_report.html.j2")
    body, _ = exporter.from_notebook_node(node)
    return body


def _shown(output: Any) -> bool:
    if output.get("output_type") == "stream":
        return output.get("name") != "stderr"
    return WIDGET_MIME not in output.get("data", {})

