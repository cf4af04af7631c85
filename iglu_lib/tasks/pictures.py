"""Pictures of tasks: start and target side by side as voxels, in the IGLU colours.

Axes follow Minecraft: east is +x, south is +z, up is +y; the compass letters sit where the
platform paints them on the floor, so a picture reads the same way as the game.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from iglu_lib.tasks.model import COLOURS, Structure, as_task, to_dense

#: Face colours of the IGLU palette (index = colour id; 0 is air and never drawn).
COLOUR_HEX = ("#ffffff", "#3b6fd8", "#3da53d", "#d63a3a", "#f28c28", "#8e44ad", "#f1d40f")
COMPASS = {"N": (5, -1.2), "S": (5, 12.2), "E": (12.2, 5), "W": (-1.2, 5)}


def render(task: Any, *, figsize: tuple[float, float] = (10, 4.8)) -> Any:
    """A matplotlib figure: the task's start (left) and target (right) as voxels."""
    import matplotlib.pyplot as plt

    task = as_task(task)
    figure = plt.figure(figsize=figsize)
    for column, (title, structure) in enumerate(
        (("start", task.starting_grid), ("target", task.target_grid)), start=1
    ):
        axes = figure.add_subplot(1, 2, column, projection="3d")
        draw_structure(axes, structure, title=f"{title} ({int(np.count_nonzero(to_dense(structure)))} blocks)")
    if task.task_id:
        figure.suptitle(task.task_id)
    figure.tight_layout()
    return figure


def draw_structure(axes: Any, structure: Structure, *, title: str = "") -> None:
    """Draw one structure (dense or sparse) on 3-D axes, with the compass on the floor."""
    grid = to_dense(structure)
    by_xzy = np.transpose(grid, (1, 2, 0))  # plot x across, z into the picture, y up
    colours = np.empty(by_xzy.shape, dtype=object)
    for colour_id in COLOURS:
        colours[by_xzy == colour_id] = COLOUR_HEX[colour_id]
    axes.voxels(by_xzy != 0, facecolors=colours, edgecolor="#33333366")
    axes.set(xlim=(0, 11), ylim=(0, 11), zlim=(0, 9), xlabel="x (east)", ylabel="z (south)", zlabel="y")
    axes.set_xticks([0.5, 5.5, 10.5], ["-5", "0", "5"])
    axes.set_yticks([0.5, 5.5, 10.5], ["-5", "0", "5"])
    axes.set_zticks([0.5, 4.5, 8.5], ["-1", "3", "7"])
    axes.invert_yaxis()  # north (-z) at the back, as seen from the south
    for letter, (x, z) in COMPASS.items():
        axes.text(x + 0.5, z + 0.5, 0, letter, color="#444444", fontsize=11, fontweight="bold", ha="center")
    axes.set_title(title)
