"""Pictures and the task browser: start and target drawn, dialogue escaped."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from iglu_lib.tasks import Task, TaskBrowser, load_sample, render, to_dense  # noqa: E402


def test_render_draws_start_and_target_side_by_side():
    task = load_sample()[0]
    figure = render(task)
    axes = figure.get_axes()
    assert [a.get_title() for a in axes] == [
        f"start ({len(task.starting_grid)} blocks)",
        f"target ({int(np.count_nonzero(task.target_grid))} blocks)",
    ]
    letters = {t.get_text() for t in axes[0].texts}
    assert letters == {"N", "S", "E", "W"}
    assert len(axes[1].collections) > len(axes[0].collections) > 0  # one face set per voxel
    matplotlib.pyplot.close(figure)


def test_browser_steps_through_tasks_and_escapes_markup():
    hostile = Task(chat='<Architect> <script>alert("x")</script> & more', last_instruction="<b>bold</b>",
                   target_grid=to_dense([(0, -1, 0, 1)]), task_id="<i>id</i>")
    browser = TaskBrowser([load_sample()[0], hostile])
    assert browser.index == 0 and "Architect" in browser._dialogue.value
    first_picture = bytes(browser._picture.value)
    assert first_picture.startswith(b"\x89PNG")
    browser.show(5)  # clamped to the last task
    assert browser.index == 1 and bytes(browser._picture.value) != first_picture
    html = browser._dialogue.value
    assert "<script>" not in html and "&lt;script&gt;" in html and "&amp; more" in html
    assert "<b>bold</b>" not in html and "&lt;i&gt;id&lt;/i&gt;" in html
    browser.show(-3)
    assert browser.index == 0
