"""A notebook widget that steps through a set of tasks: picture on the left, dialogue beside it.

The picture is a PNG in an `Image` widget rather than a figure captured by an `Output`
widget: output capture goes through comm messages that headless runners (papermill,
nbclient) can wait on forever, and a PNG looks the same in JupyterLab.
"""

from __future__ import annotations

import html
import io
from collections.abc import Iterable
from typing import Any

from iglu_lib.tasks.model import Task, as_task
from iglu_lib.tasks.pictures import render


class TaskBrowser:
    """Previous / next buttons and a slider over tasks; shows `render(task)` and the chat.

    The dialogue is escaped before it reaches the page, so markup in an instruction is shown
    as text and never changes the widget.
    """

    def __init__(self, tasks: Iterable[Any]) -> None:
        import ipywidgets as widgets

        self.tasks: list[Task] = [as_task(task) for task in tasks]
        if not self.tasks:
            raise ValueError("TaskBrowser needs at least one task")
        self._slider = widgets.IntSlider(min=0, max=len(self.tasks) - 1, description="task")
        previous, following = widgets.Button(description="◀ previous"), widgets.Button(description="next ▶")
        previous.on_click(lambda _: self.show(self.index - 1))
        following.on_click(lambda _: self.show(self.index + 1))
        self._slider.observe(lambda change: self.show(change["new"]), names="value")
        self._picture = widgets.Image(format="png")
        self._dialogue = widgets.HTML()
        self.widget = widgets.VBox([
            widgets.HBox([previous, self._slider, following]),
            widgets.HBox([self._picture, self._dialogue]),
        ])
        self.show(0)

    @property
    def index(self) -> int:
        return int(self._slider.value)

    def show(self, index: int) -> None:
        """Show task number `index` (clamped to the set)."""
        index = max(0, min(index, len(self.tasks) - 1))
        if self._slider.value != index:
            self._slider.value = index  # the observer calls back into show()
            return
        task = self.tasks[index]
        self._dialogue.value = dialogue_html(task)
        self._picture.value = picture_png(task)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def picture_png(task: Task) -> bytes:
    """`render(task)` as PNG bytes (the figure is closed, so nothing else shows it)."""
    import matplotlib.pyplot as plt

    figure = render(task, figsize=(8, 3.8))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    plt.close(figure)
    return buffer.getvalue()


def dialogue_html(task: Task) -> str:
    """The task's id, chat and last instruction as escaped HTML."""
    lines = "".join(f"<div>{html.escape(line)}</div>" for line in task.chat.splitlines())
    return (
        f"<div style='max-width:28em'><b>{html.escape(task.task_id or 'task')}</b>"
        f"<div style='margin:.5em 0'>{lines}</div>"
        f"<i>last instruction:</i> {html.escape(task.last_instruction)}</div>"
    )
