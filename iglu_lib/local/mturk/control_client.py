"""A small client of the local control API, for simulated workers, tests and notebooks.

Each method is one request of the contract under `/_local` (see the package README section);
a refused worker action raises `WorkerRefused` carrying the server's error name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from iglu_lib.errors import IgluError


class WorkerRefused(IgluError):
    """The server refused a worker action; `code` is e.g. QualificationRequirementNotMet."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


class LocalMTurkControl:
    """The control API of the local MTurk server at `base_url`."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        import requests

        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._http = requests.Session()

    def _call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        response = self._http.request(method, self.base_url + path, json=body, timeout=self.timeout)
        payload = response.json()
        if response.status_code >= 400:
            raise WorkerRefused(payload.get("error", "Error"), payload.get("message", ""), response.status_code)
        return payload

    # -- simulated workers -----------------------------------------------------------------
    def set_worker(
        self, worker_id: str, approval_rate: int = 100, approved_hits: int = 1000,
        locale: Mapping[str, str] | None = None,
    ) -> None:
        self._call("POST", "/_local/workers", {
            "worker_id": worker_id, "approval_rate": approval_rate, "approved_hits": approved_hits,
            "locale": dict(locale or {"Country": "US"}),
        })

    def worker_hits(self, worker_id: str, view: str = "accept") -> list[dict[str, Any]]:
        """HITs the worker can accept now; `view="discover"`: those the site shows them, each
        with `can_preview`, `can_accept` and `accepted`."""
        return self._call("GET", f"/_local/workers/{worker_id}/hits?view={view}")["hits"]

    def preview(self, hit_id: str, worker_id: str) -> dict[str, Any]:
        """`{"hit_id", "title", "description", "reward", "status", "question"}`; a worker the
        HIT's requirements keep from previewing gets `WorkerRefused`."""
        from urllib.parse import quote

        return self._call("GET", f"/_local/hits/{hit_id}/preview?worker_id={quote(worker_id)}")

    def worker_messages(self, worker_id: str) -> list[dict[str, Any]]:
        return self._call("GET", f"/_local/workers/{worker_id}/messages")["messages"]

    def messages(self, worker_id: str | None = None) -> list[dict[str, Any]]:
        """Every message NotifyWorkers delivered (`worker_id`, `subject`, `text`, `time`)."""
        from urllib.parse import quote

        query = f"?worker_id={quote(worker_id)}" if worker_id else ""
        return self._call("GET", f"/_local/messages{query}")["messages"]

    def accept(self, hit_id: str, worker_id: str) -> dict[str, Any]:
        """`{"assignment_id", "question": {"type", "html"|"url"}}`."""
        return self._call("POST", f"/_local/hits/{hit_id}/accept", {"worker_id": worker_id})

    def submit(self, assignment_id: str, answers: Mapping[str, str | Sequence[str]]) -> None:
        """Answers by QuestionIdentifier: FreeText, or a QuestionForm's SelectionIdentifiers."""
        body = {name: value if isinstance(value, str) else list(value) for name, value in answers.items()}
        self._call("POST", f"/_local/assignments/{assignment_id}/submit", {"answers": body})

    def return_assignment(self, assignment_id: str) -> None:
        self._call("POST", f"/_local/assignments/{assignment_id}/return")

    def qualification_type(self, type_id: str) -> dict[str, Any]:
        """`{"qualification_type_id", "name", "description", "test" (QuestionForm XML or None),
        "auto_granted"}` of a type a worker may request."""
        return self._call("GET", f"/_local/qualifications/{type_id}")

    def request_qualification(
        self, type_id: str, worker_id: str, answers: Mapping[str, str | Sequence[str]] | None = None
    ) -> dict[str, Any]:
        """Take a qualification's test (or get an auto-granted one): `{"status", "value"}`."""
        body = {"worker_id": worker_id, "answers": dict(answers or {})}
        return self._call("POST", f"/_local/qualifications/{type_id}/request", body)

    # -- the server ------------------------------------------------------------------------
    def now(self) -> float:
        return self._call("GET", "/_local/clock")["now"]

    def advance_clock(self, seconds: float) -> float:
        return self._call("POST", "/_local/clock/advance", {"seconds": seconds})["now"]

    def set_faults(
        self, fraction: float, seed: int | None = None, kinds: Sequence[str] = ("throttle", "server_error")
    ) -> None:
        body: dict[str, Any] = {"fraction": fraction, "kinds": list(kinds)}
        if seed is not None:  # the server wants an integer seed or none at all
            body["seed"] = seed
        self._call("POST", "/_local/faults", body)

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "/_local/stats")

    def reset_stats(self) -> None:
        self._call("POST", "/_local/stats/reset")
