"""Simulated architects: how many turns a human gives the builder and what they type.

A profile is data (turns and a way to write messages), looked up by name in `ARCHITECTS`;
adding a kind of worker is adding one entry. The messages come from the task's own dialogue
when it has one, so simulated games read like the real ones.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from iglu_lib.errors import ParameterError

Writer = Callable[[Sequence[str], random.Random, int], list[str]]

GENERATED_INSTRUCTIONS = (
    "Put a row of four blue blocks along the north edge, starting from the left corner.",
    "Now stack two red blocks on top of the second blue block from the left.",
    "Place a yellow block right next to the red tower, on the east side.",
    "Remove the last blue block on the right and put a green one there instead.",
    "Build a small purple column of three blocks in the middle of the field.",
    "Add one orange block on top of the purple column to finish the structure.",
)
NON_ENGLISH = (
    "Bitte baue eine Reihe aus vier blauen Blöcken entlang der nördlichen Kante.",
    "Jetzt stelle zwei rote Blöcke auf den zweiten blauen Block von links.",
    "Setze einen gelben Block direkt neben den roten Turm auf der Ostseite.",
    "Entferne den letzten blauen Block rechts und setze dort einen grünen hin.",
)
TERSE = ("ok", "go", "yes", "more", "next")
LAZY = ("hi", "build it")


def dialogue_lines(instructions: str) -> list[str]:
    """The architect's utterances of a task dialogue (`<Architect> ...` lines), prefix removed."""
    lines = []
    for line in (instructions or "").split("\n"):
        text = line.strip()
        if text.startswith("<Builder>"):
            continue
        text = text.removeprefix("<Architect>").strip()
        if text:
            lines.append(text)
    return lines


def _from_dialogue(dialogue: Sequence[str], rng: random.Random, turns: int) -> list[str]:
    source = list(dialogue) or list(GENERATED_INSTRUCTIONS)
    start = rng.randrange(len(source))
    return [source[(start + i) % len(source)] for i in range(turns)]


def _fixed(choices: Sequence[str]) -> Writer:
    def write(dialogue: Sequence[str], rng: random.Random, turns: int) -> list[str]:
        return [rng.choice(choices) for _ in range(turns)]

    return write


def _oversharing(dialogue: Sequence[str], rng: random.Random, turns: int) -> list[str]:
    messages = _from_dialogue(dialogue, rng, turns)
    messages[-1] += (
        " If it breaks, mail me at jane.doe@example.com or call 555-201-7788,"
        " my worker id is A2WORKER12345X, see https://example.com/help"
    )
    return messages


@dataclass(frozen=True)
class ArchitectProfile:
    """A kind of simulated worker in the architect's seat."""

    name: str
    min_turns: int
    max_turns: int
    write: Writer

    def messages(self, dialogue: Sequence[str], rng: random.Random) -> list[str]:
        return self.write(dialogue, rng, rng.randint(self.min_turns, self.max_turns))


ARCHITECTS: dict[str, ArchitectProfile] = {
    profile.name: profile
    for profile in (
        ArchitectProfile("diligent", 4, 7, _from_dialogue),
        ArchitectProfile("lazy", 1, 1, _fixed(LAZY)),
        ArchitectProfile("terse", 4, 6, _fixed(TERSE)),
        ArchitectProfile("non_english", 4, 6, _fixed(NON_ENGLISH)),
        ArchitectProfile("oversharing", 4, 6, _oversharing),
    )
}


def architect_profile(architect: str | ArchitectProfile) -> ArchitectProfile:
    """The profile of a name (or the profile itself); the error lists the known names."""
    if isinstance(architect, ArchitectProfile):
        return architect
    try:
        return ARCHITECTS[architect]
    except KeyError:
        known = ", ".join(ARCHITECTS)
        raise ParameterError(
            f"unknown architect profile {architect!r}; known profiles: {known}"
        ) from None
