"""MTurk for the workbench: the HIT manager over boto3, the question XML that carries our pages
(`iglu_lib.pages`), answer XML parsing and qualification tests. Imports stay light: the names below load their module when first used."""

from __future__ import annotations

from iglu_lib.lazy import lazy_exports

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
