"""The `Question` of a HIT: what the worker sees, read safely from the requester's XML.

HTMLQuestion carries the page; ExternalQuestion a URL the worker's frame opens with the
assignment's parameters. In HTML content, the crowd-html-elements script from the CDN is
swapped for the server's local implementation, so crowd-HTML templates work offline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from iglu_lib.local.mturk.errors import RequestError

CROWD_SCRIPT = re.compile(
    r"""<script\s+src\s*=\s*["']https://assets\.crowd\.aws/crowd-html-elements\.js["']\s*>\s*</script>""",
    re.IGNORECASE,
)
LOCAL_CROWD_SCRIPT = '<script src="/_local/static/crowd-html-elements.js"></script>'
PREVIEW_ASSIGNMENT_ID = "ASSIGNMENT_ID_NOT_AVAILABLE"


@dataclass(frozen=True)
class Question:
    kind: str  # HTMLQuestion, ExternalQuestion or QuestionForm
    html: str | None = None
    url: str | None = None
    xml: str | None = None  # a QuestionForm's own document
    frame_height: int = 0

    def for_worker(self) -> dict[str, str]:
        """The question as the worker JSON API returns it."""
        if self.kind == "ExternalQuestion":
            return {"type": self.kind, "url": self.url or ""}
        if self.kind == "QuestionForm":
            return {"type": self.kind, "xml": self.xml or ""}
        return {"type": self.kind, "html": local_crowd_html(self.html or "")}


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child_text(root: object, name: str) -> str | None:
    for child in root:  # type: ignore[attr-defined]
        if _local_name(child.tag) == name:
            return child.text or ""
    return None


def parse_question(xml: str) -> Question:
    """Read a Question document; refuse what the service refuses, naming the problem."""
    from defusedxml import ElementTree
    from defusedxml.common import DefusedXmlException

    try:
        root = ElementTree.fromstring(xml)
    except (ElementTree.ParseError, DefusedXmlException, ValueError) as error:
        raise RequestError(
            f"The value of the Question parameter is not valid XML: {error}",
            "AWS.MechanicalTurk.XMLParseError",
        ) from None
    kind = _local_name(root.tag)
    height = _child_text(root, "FrameHeight")
    frame_height = int(height) if height and height.strip().isdigit() else 0
    if kind == "HTMLQuestion":
        content = _child_text(root, "HTMLContent")
        if not content or not content.strip():
            raise RequestError("HTMLQuestion needs a non-empty HTMLContent", "AWS.MechanicalTurk.XMLParseError")
        return Question(kind, html=content, frame_height=frame_height)
    if kind == "ExternalQuestion":
        url = (_child_text(root, "ExternalURL") or "").strip()
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            raise RequestError(
                f"ExternalQuestion needs an http(s) ExternalURL, not {url!r}",
                "AWS.MechanicalTurk.XMLParseError",
            )
        return Question(kind, url=url, frame_height=frame_height)
    if kind == "QuestionForm":
        return Question(kind, xml=xml)
    raise RequestError(
        f"Question must be an HTMLQuestion, ExternalQuestion or QuestionForm, not {kind}",
        "AWS.MechanicalTurk.XMLParseError",
    )


def local_crowd_html(html: str) -> str:
    return CROWD_SCRIPT.sub(LOCAL_CROWD_SCRIPT, html)


def worker_parameters(assignment_id: str, hit_id: str, worker_id: str, submit_to: str) -> str:
    """The query string the real site appends to a HIT's frame."""
    return urlencode(
        {"assignmentId": assignment_id, "hitId": hit_id, "workerId": worker_id, "turkSubmitTo": submit_to}
    )


def external_url(url: str, parameters: str) -> str:
    return url + ("&" if urlsplit(url).query else "?") + parameters
