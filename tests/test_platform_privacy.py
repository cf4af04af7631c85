"""Scrubbing free text and keyed pseudonyms for worker ids."""

from __future__ import annotations

import pytest

from iglu_lib.platform.privacy import (
    PrivacyError,
    find_worker_ids,
    is_pseudonym,
    pseudonym,
    scrub,
    scrub_value,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail me: jane.doe+iglu@example.co.uk!", "mail me: [email]!"),
        ("call 555-201-7788 or (555) 201 7788", "call [phone] or [phone]"),
        ("ring +44 20 7946 0958 tonight", "ring [phone] tonight"),
        ("or 5552017788", "or [phone]"),
        ("see https://example.com/a?b=1 and www.example.org", "see [url] and [url]"),
        ("I am A2WORKER12345X, hi", "I am [worker_id], hi"),
        ("put 4 blue blocks at row 3, column 6", "put 4 blue blocks at row 3, column 6"),
        (
            "at 2023-02-23 12:30, [-1.0,1.0,-3.0] and 1.5",
            "at 2023-02-23 12:30, [-1.0,1.0,-3.0] and 1.5",
        ),
        (
            "game 8831fb95-3891-47ea-b491-5225975cbd0a ended",
            "game 8831fb95-3891-47ea-b491-5225975cbd0a ended",
        ),
        ("ABSOLUTELY GREAT AGENT", "ABSOLUTELY GREAT AGENT"),
        ("expires 1677172093809", "expires 1677172093809"),
        ("<script>alert('x')</script> &amp;", "<script>alert('x')</script> &amp;"),
    ],
)
def test_scrub_replaces_contact_details_and_worker_ids_only(text, expected):
    assert scrub(text) == expected


def test_worker_ids_become_keyed_pseudonyms():
    first = pseudonym("A3SXZL66TVNQQG", "salt-1")
    assert is_pseudonym(first) and first == pseudonym(" A3SXZL66TVNQQG ", "salt-1")
    assert first != pseudonym("A3SXZL66TVNQQG", "salt-2") != pseudonym("A1E20NMMEOXM0T", "salt-1")
    assert scrub("I am A3SXZL66TVNQQG", salt="salt-1") == f"I am {first}"
    assert find_worker_ids(scrub("A3SXZL66TVNQQG and A1E20NMMEOXM0T", salt="s")) == []
    with pytest.raises(PrivacyError, match="IGLU_WORKER_ID_SALT"):
        pseudonym("A3SXZL66TVNQQG", "")


def test_scrub_value_leaves_ids_but_not_worker_ids_in_them():
    event = {
        "eventType": "PlayerChatEvent",
        "id": "8831fb95-3891-47ea-b491-5225975cbd0a",
        "playerId": "A3SXZL66TVNQQG",
        "message": "call 555-201-7788",
        "nested": [{"note": "jane@example.com"}],
        "material": 178,
    }
    assert scrub_value(event) == {
        "eventType": "PlayerChatEvent",
        "id": "8831fb95-3891-47ea-b491-5225975cbd0a",
        "playerId": "[worker_id]",
        "message": "call [phone]",
        "nested": [{"note": "[email]"}],
        "material": 178,
    }
