"""MTurk's question XML: the envelopes that carry our pages (`iglu_lib.pages`) to MTurk.

`HTMLQuestion` holds a rendered page; `ExternalQuestion` points at a page served elsewhere
(`iglu crowd serve`), to which MTurk adds the worker parameters."""

from __future__ import annotations

HTML_QUESTION_SCHEMA = (
    "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd"
)
EXTERNAL_QUESTION_SCHEMA = (
    "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2006-07-14/ExternalQuestion.xsd"
)

#: Height of an external-mode HIT's frame on the worker's page.
FRAME_HEIGHT = 900


def html_question(html: str, frame_height: int = 0) -> str:
    """Wrap a page in MTurk's `HTMLQuestion` XML (`FrameHeight` 0 lets the page take the window)."""
    safe = html.replace("]]>", "]]]]><![CDATA[>")
    return (
        f'<HTMLQuestion xmlns="{HTML_QUESTION_SCHEMA}">\n'
        f"  <HTMLContent><![CDATA[{safe}]]></HTMLContent>\n"
        f"  <FrameHeight>{int(frame_height)}</FrameHeight>\n"
        "</HTMLQuestion>\n"
    )


def external_question(url: str, frame_height: int = 0) -> str:
    """MTurk's `ExternalQuestion` XML for a page served elsewhere (MTurk adds the worker parameters)."""
    from xml.sax.saxutils import escape

    return (
        f'<ExternalQuestion xmlns="{EXTERNAL_QUESTION_SCHEMA}">\n'
        f"  <ExternalURL>{escape(url)}</ExternalURL>\n"
        f"  <FrameHeight>{int(frame_height)}</FrameHeight>\n"
        "</ExternalQuestion>\n"
    )
