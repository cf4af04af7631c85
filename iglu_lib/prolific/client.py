"""A typed client of Prolific's researcher API (`/api/v1/`, `Authorization: Token ...`).

It adds what every caller would otherwise repeat: the token header, JSON in and out, lists
read from `{"results": [...]}` (following `_links.next` when a page has one), bounded retries
with backoff, and one error type whose one-line message names the operation and Prolific's
`detail`.

Retries: a 429 (rate limit) is retried for every request, since Prolific refused it before doing
anything. Connection failures and 5xx answers are retried only for requests that are safe to
repeat (reads, transitions, which Prolific documents as idempotent, absolute updates, group
membership): a 5xx or a dropped connection after a non-repeatable request (creating a study,
sending a message, paying a bonus, which Prolific documents as *not* idempotent) may have been
done, so it is reported instead, for the caller to look before trying again.

Money on the wire is in cents (the workspace's sub-unit), except the bonus CSV, which is in
the main unit ("4.25"); the provider (`iglu_lib.prolific.provider`) speaks dollars as `Decimal`.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import requests

from iglu_lib.providers import CrowdError

if TYPE_CHECKING:
    from iglu_lib.backends import Backend

LOG = logging.getLogger(__name__)

#: Statuses worth another try (rate limit, the service's own faults).
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Said of a request that is not safe to repeat and failed in a way that may hide its success.
MAY_HAVE_HAPPENED = " (it may have been done all the same: look before repeating it)"
#: Ids in a path, replaced by `{id}` when requests are counted by kind.
ID_IN_PATH = re.compile(r"/[a-f\d]{24}(?=/|$)")


class ProlificError(CrowdError):
    """A Prolific call failed; the message names the operation, the status and Prolific's detail.
    The status says how the campaign loop takes it (`providers.CrowdError`): unreachable, 429 and
    5xx pass; another 4xx will not heal by waiting, and 401, 402 and 403 among them are about the
    account (the loop stops). An
    error raised before any request (a refused setting) is neither: parked for a person."""

    def __init__(self, message: str, *, status: int | None = None, detail: str = "",
                 unreachable: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail
        self.unreachable = unreachable

    @property
    def transient(self) -> bool:
        return self.unreachable or self.status == 429 or (self.status or 0) >= 500

    @property
    def about_account(self) -> bool:
        return self.status in ACCOUNT_STATUSES

    @property
    def permanent(self) -> bool:
        return self.status is not None and 400 <= self.status < 500 and self.status != 429


#: Statuses that say the token, its rights or the workspace's funds are wrong.
ACCOUNT_STATUSES = (401, 402, 403)


@dataclass
class Backoff:
    """Bounded exponential backoff with jitter: attempt n waits up to base * 2**n (capped);
    a `Retry-After` of the service is honoured up to the cap."""

    max_attempts: int = 5
    base_delay: float = 0.2
    max_delay: float = 5.0
    sleep: Callable[[float], None] = time.sleep
    retries: int = field(default=0, init=False)

    def wait(self, attempt: int, retry_after: str | None = None) -> None:
        self.retries += 1
        delay = min(self.max_delay, self.base_delay * 2 ** attempt) * (0.5 + random.random() / 2)
        if retry_after and retry_after.strip().isdigit():
            delay = min(self.max_delay, float(retry_after))
        self.sleep(delay)


class ProlificClient:
    """The researcher API at `base_url` (e.g. https://api.prolific.com) with one token."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 30.0, backoff: Backoff | None = None,
                 session: requests.Session | None = None) -> None:
        if not token:
            raise ProlificError("Prolific needs an API token; set PROLIFIC_TOKEN in the environment or .env")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.backoff = backoff or Backoff()
        self.session = session or requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"
        #: How many requests were sent (retries included): what `make bench` counts.
        self.requests = 0
        #: The same, by kind: `"GET submissions/{id}/"` (method and path, ids and query left out).
        self.counts: Counter[str] = Counter()

    @classmethod
    def open(cls, backend: Backend, **options: Any) -> ProlificClient:
        """The client of a profile's backend: its address (the local stack's emulator, or the
        profile's `prolific.base_url`) and token (`PROLIFIC_TOKEN`, or the emulator's)."""
        return cls(backend.prolific_base_url(), backend.prolific_token(), **options)

    # -- plumbing ----------------------------------------------------------------------------
    def call(self, operation: str, method: str, path: str, *, json: Any = None,
             params: Mapping[str, Any] | None = None, repeatable: bool | None = None) -> Any:
        """One request to `/api/v1/<path>`; the decoded JSON (None for an empty answer).

        `repeatable` (default: True for GET, PATCH and DELETE) says whether a 5xx or a dropped
        connection may be retried (see the module's note)."""
        url = path if path.startswith("http") else f"{self.base_url}/api/v1/{path.lstrip('/')}"
        safe = method in ("GET", "PATCH", "DELETE") if repeatable is None else repeatable
        attempt = 0
        while True:
            self.requests += 1
            self.counts[request_kind(method, url)] += 1
            try:
                response = self.session.request(method, url, json=json, params=params, timeout=self.timeout)
            except requests.RequestException as err:
                if safe and attempt + 1 < self.backoff.max_attempts:
                    LOG.warning("Prolific %s: %s; retrying", operation, type(err).__name__)
                    self.backoff.wait(attempt)
                    attempt += 1
                    continue
                raise ProlificError(f"Prolific {operation} failed: cannot reach {self.base_url} "
                                    f"({type(err).__name__}) after {attempt + 1} attempt(s); is the endpoint reachable?"
                                    f"{'' if safe else MAY_HAVE_HAPPENED}", unreachable=True) from None
            if response.status_code in RETRY_STATUSES and (safe or response.status_code == 429) \
                    and attempt + 1 < self.backoff.max_attempts:
                LOG.warning("Prolific %s: HTTP %s; retrying", operation, response.status_code)
                self.backoff.wait(attempt, response.headers.get("Retry-After"))
                attempt += 1
                continue
            return _decoded(operation, response, "" if safe or response.status_code < 500 else MAY_HAVE_HAPPENED)

    def results(self, operation: str, path: str, params: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a list, page after page (`_links.next` when Prolific pages it)."""
        page: Any = self.call(operation, "GET", path, params=params)
        while True:
            if not isinstance(page, Mapping) or not isinstance(page.get("results"), list):
                raise ProlificError(f"Prolific {operation} answered without a list of results")
            yield from page["results"]
            following = ((page.get("_links") or {}).get("next") or {}).get("href")
            if not following:
                return
            if not str(following).startswith(self.base_url + "/"):  # the token goes only to Prolific
                raise ProlificError(f"Prolific {operation}: the next page is not on {self.base_url}; not followed")
            page = self.call(operation, "GET", str(following))

    # -- researcher, workspaces, projects ----------------------------------------------------
    def me(self) -> dict[str, Any]:
        return dict(self.call("check token (users/me)", "GET", "users/me/"))

    def workspaces(self) -> list[dict[str, Any]]:
        return list(self.results("list workspaces", "workspaces/"))

    def create_workspace(self, title: str, currency_code: str = "USD") -> dict[str, Any]:
        return dict(self.call(f"create workspace '{title}'", "POST", "workspaces/",
                              json={"title": title, "currency_code": currency_code}))

    def balance(self, workspace_id: str) -> dict[str, Any]:
        return dict(self.call("read balance", "GET", f"workspaces/{workspace_id}/balance/"))

    def projects(self, workspace_id: str) -> list[dict[str, Any]]:
        return list(self.results("list projects", f"workspaces/{workspace_id}/projects/"))

    def create_project(self, workspace_id: str, title: str) -> dict[str, Any]:
        return dict(self.call(f"create project '{title}'", "POST", f"workspaces/{workspace_id}/projects/",
                              json={"title": title}))

    # -- studies -----------------------------------------------------------------------------
    def project_studies(self, project_id: str) -> list[dict[str, Any]]:
        return list(self.results("list studies", f"projects/{project_id}/studies/"))

    def create_study(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return dict(self.call(f"create study '{body.get('internal_name') or body.get('name')}'", "POST", "studies/",
                              json=dict(body)))

    def study(self, study_id: str) -> dict[str, Any]:
        return dict(self.call(f"read study {study_id}", "GET", f"studies/{study_id}/"))

    def update_study(self, study_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        return dict(self.call(f"update study {study_id}", "PATCH", f"studies/{study_id}/", json=dict(changes)))

    def transition_study(self, study_id: str, action: str) -> dict[str, Any]:
        return dict(self.call(f"{action.lower()} study {study_id}", "POST", f"studies/{study_id}/transition/",
                              json={"action": action}, repeatable=True))

    # -- submissions -------------------------------------------------------------------------
    def submissions(self, study_id: str) -> list[dict[str, Any]]:
        return list(self.results(f"list submissions of study {study_id}", "submissions/", {"study": study_id}))

    def submission(self, submission_id: str) -> dict[str, Any]:
        return dict(self.call(f"read submission {submission_id}", "GET", f"submissions/{submission_id}/"))

    def transition_submission(self, submission_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        action = str(body.get("action", "")).lower()
        return dict(self.call(f"{action} submission {submission_id}", "POST",
                              f"submissions/{submission_id}/transition/", json=dict(body), repeatable=True))

    # -- bonuses -----------------------------------------------------------------------------
    def set_up_bonuses(self, study_id: str, csv_bonuses: str) -> dict[str, Any]:
        return dict(self.call(f"set up bonuses for study {study_id}", "POST", "submissions/bonus-payments/",
                              json={"study_id": study_id, "csv_bonuses": csv_bonuses}, repeatable=True))

    def pay_bonuses(self, bulk_id: str) -> Any:
        """Pays every time it is called (Prolific: "not idempotent"): never retried after a 5xx."""
        return self.call(f"pay bonuses {bulk_id}", "POST", f"bulk-bonus-payments/{bulk_id}/pay/", repeatable=False)

    # -- participant groups and messages -----------------------------------------------------
    def groups(self, workspace_id: str) -> list[dict[str, Any]]:
        return list(self.results("list participant groups", "participant-groups/", {"workspace_id": workspace_id}))

    def create_group(self, workspace_id: str, name: str, description: str = "") -> dict[str, Any]:
        return dict(self.call(f"create participant group '{name}'", "POST", "participant-groups/",
                              json={"workspace_id": workspace_id, "name": name, "description": description}))

    def group_members(self, group_id: str) -> list[str]:
        found = self.results(f"list members of group {group_id}", f"participant-groups/{group_id}/participants/")
        return [str(member["participant_id"]) for member in found]

    def change_group_members(self, group_id: str, participant_ids: list[str], *, add: bool) -> None:
        """Add (existing members ignored) or remove (non-members ignored): safe to repeat."""
        verb = "add to" if add else "remove from"
        self.call(f"{verb} group {group_id}", "POST" if add else "DELETE", f"participant-groups/{group_id}/participants/",
                  json={"participant_ids": participant_ids}, repeatable=True)

    def send_message(self, recipient_id: str, body: str, study_id: str) -> None:
        self.call(f"message participant {recipient_id}", "POST", "messages/",
                  json={"recipient_id": recipient_id, "body": body, "study_id": study_id})

    def messages(self, participant_id: str) -> list[dict[str, Any]]:
        return list(self.results(f"read messages with {participant_id}", "messages/", {"user_id": participant_id}))


def request_kind(method: str, url: str) -> str:
    """`"GET studies/{id}/"`: a request's method and API path without its ids and query."""
    path = url.split("?", 1)[0].split("/api/v1/", 1)[-1]
    return f"{method} {ID_IN_PATH.sub('/{id}', '/' + path).lstrip('/')}"


def _decoded(operation: str, response: requests.Response, note: str = "") -> Any:
    """The JSON of a 2xx answer (None when empty), or `ProlificError` with Prolific's detail."""
    if response.ok:
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ProlificError(f"Prolific {operation} answered {response.status_code} with a body that is not JSON",
                                status=response.status_code) from None
    detail = _detail(response)
    hint = "; check PROLIFIC_TOKEN" if response.status_code == 401 else ""
    raise ProlificError(f"Prolific {operation} failed: HTTP {response.status_code}: {detail}{hint}{note}",
                        status=response.status_code, detail=detail)


def _detail(response: requests.Response) -> str:
    """Prolific's `error.detail` (or `detail`), on one line and bounded; else the reason phrase."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error", body) if isinstance(body, dict) else None
    detail: Any = error.get("detail") or error.get("title") if isinstance(error, dict) else None
    if isinstance(detail, (dict, list)):
        detail = "; ".join(f"{k}: {v}" for k, v in detail.items()) if isinstance(detail, dict) else "; ".join(map(str, detail))
    text = " ".join(str(detail or response.reason or "no detail").split())
    return text[:300]
