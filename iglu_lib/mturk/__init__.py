"""MTurk for the workbench: the HIT manager over boto3, the question XML that carries our pages
(`iglu_lib.pages`), answer XML parsing and qualification tests. Imports stay light: the names below load their module when first used."""

from __future__ import annotations

from typing import TYPE_CHECKING

from iglu_lib.lazy import lazy_exports

if TYPE_CHECKING:  # the checker sees the real names; at run time they load on first use
    from iglu_lib.mturk.answers import parse_answers as parse_answers
    from iglu_lib.mturk.manager import Assignment as Assignment
    from iglu_lib.mturk.manager import Hit as Hit
    from iglu_lib.mturk.manager import HitManager as HitManager
    from iglu_lib.mturk.manager import MTurkError as MTurkError
    from iglu_lib.mturk.manager import SpendingRefused as SpendingRefused
    from iglu_lib.mturk.manager import TokenSpent as TokenSpent
    from iglu_lib.mturk.qualifications import QualificationTest as QualificationTest
    from iglu_lib.mturk.qualifications import create_qualification_type as create_qualification_type
    from iglu_lib.mturk.questions import external_question as external_question
    from iglu_lib.mturk.questions import html_question as html_question
    from iglu_lib.mturk.retry import RetryPolicy as RetryPolicy
    from iglu_lib.mturk.review import Decision as Decision
    from iglu_lib.mturk.review import act_on_assignments as act_on_assignments

_EXPORTS = {
    "HitManager": "iglu_lib.mturk.manager",
    "Hit": "iglu_lib.mturk.manager",
    "Assignment": "iglu_lib.mturk.manager",
    "SpendingRefused": "iglu_lib.mturk.manager",
    "MTurkError": "iglu_lib.mturk.manager",
    "TokenSpent": "iglu_lib.mturk.manager",
    "RetryPolicy": "iglu_lib.mturk.retry",
    "parse_answers": "iglu_lib.mturk.answers",
    "html_question": "iglu_lib.mturk.questions",
    "external_question": "iglu_lib.mturk.questions",
    "QualificationTest": "iglu_lib.mturk.qualifications",
    "create_qualification_type": "iglu_lib.mturk.qualifications",
    "Decision": "iglu_lib.mturk.review",
    "act_on_assignments": "iglu_lib.mturk.review",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
