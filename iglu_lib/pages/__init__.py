"""Our own task pages, whichever crowd carries them: the HIT and study page templates, the
answers they submit (fields, completion codes, ties) and the store of external pages and their
claims. MTurk wraps them in its question XML (`iglu_lib.mturk.questions`); Prolific sends its
participants to them (`iglu crowd serve`). Imports stay light: names load their module on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING

from iglu_lib.lazy import lazy_exports

if TYPE_CHECKING:  # the checker sees the real names; at run time they load on first use
    from iglu_lib.pages.answers import ParsedAnswers as ParsedAnswers
    from iglu_lib.pages.answers import code_field as code_field
    from iglu_lib.pages.answers import read_choice as read_choice
    from iglu_lib.pages.store import HitPageStore as HitPageStore
    from iglu_lib.pages.templates import QUESTION_MODES as QUESTION_MODES
    from iglu_lib.pages.templates import TEMPLATES as TEMPLATES
    from iglu_lib.pages.templates import TemplateError as TemplateError
    from iglu_lib.pages.templates import preview_exposes_codes as preview_exposes_codes
    from iglu_lib.pages.templates import render_hit as render_hit
    from iglu_lib.pages.templates import render_hit_preview as render_hit_preview

_EXPORTS = {
    "ParsedAnswers": "iglu_lib.pages.answers",
    "read_choice": "iglu_lib.pages.answers",
    "code_field": "iglu_lib.pages.answers",
    "render_hit": "iglu_lib.pages.templates",
    "render_hit_preview": "iglu_lib.pages.templates",
    "TemplateError": "iglu_lib.pages.templates",
    "TEMPLATES": "iglu_lib.pages.templates",
    "QUESTION_MODES": "iglu_lib.pages.templates",
    "preview_exposes_codes": "iglu_lib.pages.templates",
    "HitPageStore": "iglu_lib.pages.store",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
