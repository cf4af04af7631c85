"""The notebooks as a researcher uses them: JupyterLab (started by `iglu_lib.lab.start_lab`, as
`make lab` does) in headless Chromium, each stage notebook of the rehearsal opened with the
demo's parameters (outputs redirected under outputs/tests/lab/, a small campaign of its own),
then 04 (review, on that campaign), 07 and 08 with their own parameters, each
run with Run > Run All Cells, and checked: no cell shows an error, figures are drawn, notebook
03's campaign view says what needs a person, and notebook 06's explorer renders as widgets, not
as their text fallback. Screenshots are saved in outputs/tests/lab/ for a person to look at.

The kernels run against the session's local stack (they inherit `IGLU_STACK_DIR`)."""

from __future__ import annotations

import json
import re
import secrets
import time
from pathlib import Path
from typing import Any

import pytest

from iglu_lib import paths

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
LAB_DIR = ROOT / "outputs" / "tests" / "lab"
#: Where the demo's parameters write; the test writes under LAB_DIR / "run" instead.
DEMO_OUTPUTS = "outputs/demo/"
RUN_OUTPUTS = "outputs/tests/lab/run/"
#: Images each notebook must show at least (pictures of tasks, the campaign view and reasons,
#: games per agent, wins / strengths / per task).
FIGURES = {"01_encode_tasks": 1, "03_collect": 2, "05_game_data": 1, "06_analysis": 3}
#: JupyterLab settings for the test: every cell in the DOM (no windowing), no news toast.
SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                        "checkForUpdates": False},
}
RUN_TIMEOUT_MS = 150_000


def _redirect(value: Any) -> Any:
    """The demo's parameters with every path under outputs/demo/ moved under the test's folder."""
    if isinstance(value, str):
        return value.replace(DEMO_OUTPUTS, RUN_OUTPUTS)
    if isinstance(value, dict):
        return {k: _redirect(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redirect(v) for v in value]
    return value


def demo_stages(campaign: str) -> list[tuple[str, dict[str, Any]]]:
    """Each stage of `params/demo.yaml` with its parameters, outputs redirected, and a campaign
    of four good HITs named `campaign` (the demo's runs to 60); then review (04, on that
    campaign), crowd tasks (07) and interaction logs (08) with their own parameters."""
    from iglu_lib.config import read_yaml
    from iglu_lib.demo import read_stages
    from iglu_lib.notebooks import read_parameters

    stages = []
    for stage in read_stages(paths.params_dir() / "demo.yaml"):
        if stage.name:  # a notebook the demo runs a second time (the Prolific campaign): once is enough here
            continue
        values = _redirect(read_parameters(ROOT / stage.parameters if stage.parameters else None))
        if stage.notebook == "03_collect":
            demo_campaign = read_yaml(ROOT / values["campaign_params"])
            values.update(rehearsal_overrides={"size": 8, "platform_dir": _redirect("outputs/demo/platform")},
                          overrides={
                "campaign": campaign, "target_approved_hits": 4,
                "join_codes": _redirect(demo_campaign["join_codes"]),
                "agent_instances": _redirect(demo_campaign["agent_instances"])})
        if values.get("campaign") == "demo-pairwise":
            values["campaign"] = campaign
        if stage.notebook == "04_review":  # the review desk works on the lab's campaign
            values["campaign_params"] = str(campaign_file(stages))
        stages.append((stage.notebook, values))
    # the stages the rehearsal does not run, with their own parameters, outputs moved likewise
    for notebook, overrides in (("04_review", {"campaign": campaign}), ("07_crowd_task", {}), ("08_s3_logs", {})):
        values = read_parameters(paths.params_dir() / f"{notebook}.yaml", overrides)
        values["output_dir"] = f"{RUN_OUTPUTS}{notebook}"
        stages.append((notebook, values))
    return stages


def campaign_file(stages: list[tuple[str, dict[str, Any]]]) -> Path:
    """The parameter file of the lab's campaign (the demo's with notebook 03's overrides), for 04's desk."""
    import yaml

    from iglu_lib.config import read_yaml

    collect = dict(stages)["03_collect"]
    values = {**read_yaml(ROOT / collect["campaign_params"]), **collect["overrides"]}
    path = ROOT / RUN_OUTPUTS / "lab-campaign.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(values))
    return path


def write_parameterized(notebook: str, values: dict[str, Any], folder: Path) -> Path:
    """The notebook with papermill's injected-parameters cell, as `iglu run` would execute it."""
    import nbformat
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    from iglu_lib.notebooks import resolve_notebook

    source = load_notebook_node(str(resolve_notebook(notebook)))
    target = folder / f"{notebook}.ipynb"
    nbformat.write(parameterize_notebook(source, values), str(target))
    return target


@pytest.fixture(scope="module")
def lab(stack):
    """JupyterLab on the project root (so it can open the parameterized copies under outputs/),
    its kernels on the session's stack; stopped with its kernels afterwards."""
    from iglu_lib.lab import start_lab

    settings = LAB_DIR / "settings"
    for name, values in SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values))
    env = {"JUPYTERLAB_SETTINGS_DIR": str(settings), "JUPYTERLAB_WORKSPACES_DIR": str(LAB_DIR / "workspaces")}
    server = start_lab(ROOT, env=env, log_file=LAB_DIR / "jupyterlab.log")
    yield server
    server.stop()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


def run_all_cells(page, lab, notebook: Path) -> None:
    """Open the notebook, wait for its kernel, Run > Run All Cells, wait until it is idle."""
    relative = notebook.relative_to(ROOT).as_posix()
    page.goto(f"{lab.base_url}/lab/tree/{relative}?reset&token={lab.token}")  # reset: one tab at a time
    # the kernel is connected once the status bar names it and says it is idle
    page.wait_for_function("""() => {
        const bar = document.querySelector('#jp-main-statusbar');
        return bar && bar.innerText.includes('Python 3') && bar.innerText.includes('| Idle');
    }""", timeout=120_000, polling=500)
    for attempt in range(3):
        page.click(".lm-MenuBar-itemLabel:text-is('Run')")
        page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
        try:
            page.wait_for_function("""() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
                .some(p => /[*\\d]/.test(p.innerText))""", timeout=20_000, polling=250)
            break
        except Exception:  # noqa: BLE001 - a click before the kernel listened: try the menu again
            if attempt == 2:
                raise
    page.wait_for_function("""() => {
        const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(p => p.innerText);
        const status = document.querySelector('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator');
        return prompts.length && /\\d/.test(prompts[0]) && !prompts.some(p => p.includes('*'))
            && status && status.dataset.status === 'idle';
    }""", timeout=RUN_TIMEOUT_MS, polling=500)
    page.keyboard.press("Control+s")
    page.wait_for_function("() => !document.querySelector('.jp-mod-dirty')", timeout=20_000)


def shown_errors(page) -> list[str]:
    """Outputs that are Python tracebacks (stderr streams such as warnings are not errors)."""
    texts = page.eval_on_selector_all(
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']", "els => els.map(e => e.innerText)")
    return [t[:400] for t in texts if "Traceback" in t or t.lstrip().startswith("-----")]


def saved_errors(notebook: Path) -> list[str]:
    import nbformat

    saved = nbformat.read(str(notebook), as_version=4)
    return [f"{out.get('ename')}: {out.get('evalue')}" for cell in saved.cells if cell.cell_type == "code"
            for out in cell.get("outputs", []) if out.get("output_type") == "error"]


def screenshot(page, name: str) -> None:
    page.screenshot(path=str(LAB_DIR / f"{name}.png"))
    images = page.locator(".jp-OutputArea-output img >> visible=true")
    if images.count():
        images.first.scroll_into_view_if_needed()
        page.screenshot(path=str(LAB_DIR / f"{name}-figure.png"))


def stop_kernels(lab) -> None:
    """One kernel at a time: each notebook's kernel is shut down before the next starts."""
    import requests

    headers = {"Authorization": f"token {lab.token}"}
    for session in requests.get(f"{lab.base_url}/api/sessions", headers=headers, timeout=10).json():
        requests.delete(f"{lab.base_url}/api/sessions/{session['id']}", headers=headers, timeout=30)


def test_every_stage_notebook_runs_in_jupyterlab(lab, page):
    folder = LAB_DIR / "notebooks"
    folder.mkdir(parents=True, exist_ok=True)
    (ROOT / RUN_OUTPUTS).mkdir(parents=True, exist_ok=True)
    campaign = f"lab{secrets.token_hex(4)}"
    timings = {}
    for notebook, values in demo_stages(campaign):
        started = time.monotonic()
        path = write_parameterized(notebook, values, folder)
        run_all_cells(page, lab, path)
        screenshot(page, notebook)
        timings[notebook] = round(time.monotonic() - started, 1)
        assert not shown_errors(page), f"{notebook} shows an error: {shown_errors(page)}"
        assert not saved_errors(path), f"{notebook} saved with an error: {saved_errors(path)}"
        images = page.locator(".jp-OutputArea-output img").count()
        assert images >= FIGURES.get(notebook, 0), f"{notebook} shows {images} figures"
        if notebook == "03_collect":
            line = page.locator(".jp-OutputArea-output", has_text="needs a person").first.inner_text()
            assert "good 4/4" in line and "spent $" in line and "of $60.00" in line, line
        if notebook == "06_analysis":
            check_explorer(page)
        if notebook == "04_review" and values.get("campaign_params"):
            press_desk_buttons(page, values["campaign_params"])
        stop_kernels(lab)
    (LAB_DIR / "timings.json").write_text(json.dumps(timings, indent=2))


def check_explorer(page) -> None:
    """The explorer's filters are widget views (dropdowns, a multi-select) with the filtered
    ranking and its figure inside; no output is a widget's text fallback."""
    fallback = page.eval_on_selector_all(
        ".jp-OutputArea-output", "els => els.map(e => e.innerText).filter(t => /^(VBox|HBox|Tab|Output)\\(/.test(t))")
    assert not fallback, f"widgets shown as text: {fallback}"
    widgets = page.locator(".jp-OutputArea-output .jupyter-widgets")
    assert widgets.count() > 0
    assert page.locator(".widget-dropdown select").count() >= 2
    assert page.locator(".widget-select-multiple select").count() == 1
    assert page.locator(".jupyter-widgets img").count() >= 1, "the filtered strengths figure"
    page.locator(".widget-dropdown").first.scroll_into_view_if_needed()
    page.screenshot(path=str(LAB_DIR / "06_analysis-explorer.png"))


def press_desk_buttons(page, campaign_params: str) -> None:
    """A person at notebook 04's review desk: picks a worker, types a reason and an amount,
    presses bonus on a submission and confirms; the records and the service then say it was
    paid once, through the review's door."""
    from iglu_lib.collection.review import Review

    desk = page.locator(".iglu-review-desk")
    desk.scroll_into_view_if_needed()
    labels = desk.locator(".widget-select select option").all_inner_texts()
    honest = [n for n, label in enumerate(labels) if " 0 rejected" in label.replace("\xa0", " ")]
    assert honest, f"the desk lists the campaign's workers: {labels}"
    desk.locator(".widget-select select").select_option(index=honest[0])
    submission = desk.locator(".iglu-submission").first
    submission.wait_for()
    desk.locator("input[placeholder^='reason']").fill("Thanks for the clear instructions")
    desk.locator("input[placeholder='0.50']").fill("0.15")
    submission.locator("button:text-is('bonus')").click()
    desk.locator("text=Confirm?").wait_for()
    page.screenshot(path=str(LAB_DIR / "04_review-desk-confirm.png"))
    desk.locator("button:text-is('Confirm')").click()
    status = desk.locator(".iglu-desk-status")
    status.filter(has_text=re.compile(r"\b(done|refused|failed)\b")).wait_for(timeout=90_000)
    page.screenshot(path=str(LAB_DIR / "04_review-desk-done.png"))
    assert status.inner_text().strip().startswith("done"), status.inner_text()
    review = Review.from_file(ROOT / campaign_params)
    paid = [(g.hit_id, g.assignment_id) for g in review.records.all()
            if any(d.get("action") == "bonus" and d.get("done") for d in g.manual_decisions)]
    assert len({hit for hit, _ in paid}) == 1, "one HIT got the manual bonus, written to its records"
    payments = review.manager.bonus_payments(assignment_id=paid[0][1])
    assert [p["BonusAmount"] for p in payments if p.get("Reason", "").startswith("Thanks")] == ["0.15"]
