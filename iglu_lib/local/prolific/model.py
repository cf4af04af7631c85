"""The rules of Prolific's researcher API as the emulator keeps them: studies and their
statuses, submissions and their transitions, places, money, bonuses, groups and messages.

Written from the facts in `shared/prolific-api.md` (each with its public source), with its own
shapes: nothing here imports the workbench's Prolific provider, so a misreading on one side is
not silently shared by the other. Where the sources are silent the choice is named in a comment
("assumed").
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from iglu_lib.errors import IgluError
from iglu_lib.local.prolific.store import Document, Store, new_id

# -- statuses (shared/prolific-api.md, "Studies" and "Submissions") ----------------------------
UNPUBLISHED, ACTIVE, PAUSED, AWAITING_REVIEW, COMPLETED = "UNPUBLISHED", "ACTIVE", "PAUSED", "AWAITING REVIEW", "COMPLETED"
RESERVED, STARTED, TIMED_OUT, RETURNED, APPROVED, REJECTED = (
    "RESERVED", "ACTIVE", "TIMED-OUT", "RETURNED", "APPROVED", "REJECTED")
#: Submissions that hold a place ("started, excluding timed out and returned"; a rejection reopens it).
HOLDS_PLACE = (RESERVED, STARTED, AWAITING_REVIEW, APPROVED)
IN_PROGRESS = (RESERVED, STARTED)
REJECTION_CATEGORIES = ("TOO_QUICKLY", "TOO_SLOWLY", "FAILED_INSTRUCTIONS", "INCOMP_LONGITUDINAL", "FAILED_CHECK",
                        "LOW_EFFORT", "MALINGERING", "NO_CODE", "BAD_CODE", "NO_DATA", "UNSUPP_DEVICE", "OTHER")
MIN_REJECTION_MESSAGE = 100
CREATE_REQUIRED = ("name", "description", "external_study_url", "prolific_id_option", "completion_codes",
                   "estimated_completion_time", "reward", "total_available_places")
PROLIFIC_ID_OPTIONS = ("question", "url_parameters", "not_required")
#: What a published study may still change.
EDITABLE_AFTER_PUBLISHING = ("internal_name", "total_available_places")
#: Assumed: the service fee as a share of rewards and bonuses (Prolific publishes its fee on its
#: pricing page; the sources of shared/prolific-api.md do not state it), VAT left at zero.
FEE_RATE = Decimal("0.3333")
#: Assumed: the lowest hourly reward Prolific accepts, in cents per hour ($8.00).
MIN_HOURLY_REWARD_CENTS = 800
#: A place is reserved for 10 minutes by default; a started submission times out after the
#: study's maximum allowed time (assumed: three times the estimate when the study sets none).
DEFAULT_TIME_FACTOR = 3
START_BALANCE_CENTS = 100_000
ID_PATTERN = re.compile(r"^[a-f\d]{24}$")


class ApiError(IgluError):
    """An error the API answers with its `{"error": {...}}` body (the emulator's own: it never
    reaches a researcher, but it shares the library's root)."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail

    def body(self) -> dict[str, Any]:
        return {"error": {"status": self.status, "error_code": self.status * 1000, "title": self.title,
                          "detail": self.detail}}


def bad_request(detail: str) -> ApiError:
    return ApiError(400, "Bad request", detail)


def not_found(kind: str, doc_id: str) -> ApiError:
    return ApiError(404, "Not found", f"The resource does not exist: {kind} {doc_id[:40]}")


def iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def cents(amount: Decimal) -> int:
    return int(amount.quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def fee_of(reward_cents: int) -> int:
    return cents(Decimal(reward_cents) * FEE_RATE)


class Prolific:
    """The API's behaviour over a `Store`; every method runs under the store's lock."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, kind: str, doc_id: str) -> Document:
        doc = self.store.get(kind, doc_id)
        if doc is None:
            raise not_found(kind, doc_id)
        return doc

    # -- the researcher and their workspaces ----------------------------------------------
    def me(self) -> Document:
        user = self.store.get("user", "me")
        if user is None:
            user = self.store.put("user", {"id": "me", "user_id": new_id(), "email": "researcher@localhost",
                                           "name": "Local Researcher"})
            self.create_workspace({"title": "Rehearsal", "currency_code": "USD"})
        return {"id": user["user_id"], "email": user["email"], "name": user["name"]}

    def create_workspace(self, body: dict[str, Any]) -> Document:
        title = body.get("title")
        if not isinstance(title, str) or not title.strip():
            raise bad_request("title: This field is required.")
        currency = body.get("currency_code", "GBP")
        if currency not in ("GBP", "USD"):
            raise bad_request("currency_code: must be GBP or USD")
        return self.store.put("workspace", {"id": new_id(), "title": title, "description": body.get("description", ""),
                                            "currency_code": currency, "funds": START_BALANCE_CENTS,
                                            "rewards_paid": 0, "fees_paid": 0})

    def workspace_view(self, ws: Document) -> Document:
        return {k: ws[k] for k in ("id", "title", "description", "currency_code")}

    def balance(self, workspace_id: str) -> Document:
        ws = self.get("workspace", workspace_id)
        locked_rewards = locked_fees = 0
        for study in self.store.where("study", workspace_id=workspace_id):
            places = self._locked_places(study)
            locked_rewards += places * study["reward"]
            locked_fees += places * fee_of(study["reward"])
        available = ws["funds"] - locked_rewards - locked_fees
        return {"currency_code": ws["currency_code"], "total_balance": ws["funds"],
                "balance_breakdown": {"rewards": ws["funds"], "fees": 0, "vat": 0},
                "available_balance": available,
                "available_balance_breakdown": {"rewards": available, "fees": 0, "vat": 0}}

    def _locked_places(self, study: Document) -> int:
        """Places whose reward is held: open ones of a running study, and submissions not yet paid."""
        subs = list(self.store.where("submission", study_id=study["id"]))
        outstanding = sum(s["status"] in (*IN_PROGRESS, AWAITING_REVIEW) for s in subs)
        open_places = 0
        if study["status"] in (ACTIVE, PAUSED):
            open_places = max(0, study["total_available_places"] - self._places_taken(subs))
        return open_places + outstanding

    def fund(self, workspace_id: str, amount_cents: int) -> Document:
        ws = self.get("workspace", workspace_id)
        ws["funds"] += int(amount_cents)
        self.store.put("workspace", ws)
        return self.balance(workspace_id)

    def _pay(self, workspace_id: str, amount_cents: int, fee_cents: int) -> None:
        ws = self.get("workspace", workspace_id)
        ws["funds"] -= amount_cents + fee_cents
        ws["rewards_paid"] += amount_cents
        ws["fees_paid"] += fee_cents
        self.store.put("workspace", ws)

    def create_project(self, workspace_id: str, body: dict[str, Any]) -> Document:
        self.get("workspace", workspace_id)
        title = body.get("title")
        if not isinstance(title, str) or not title.strip():
            raise bad_request("title: This field is required.")
        return self.store.put("project", {"id": new_id(), "title": title, "workspace": workspace_id,
                                          "description": body.get("description", "")})

    # -- studies --------------------------------------------------------------------------
    def create_study(self, body: dict[str, Any]) -> Document:
        missing = [name for name in CREATE_REQUIRED if name not in body]
        if missing:
            raise bad_request("; ".join(f"{name}: This field is required." for name in missing))
        project = self.get("project", str(body["project"])) if body.get("project") else self._default_project()
        study = {"id": new_id(), "status": UNPUBLISHED, "project": project["id"],
                 "workspace_id": project["workspace"], "internal_name": body.get("internal_name") or body["name"],
                 "filters": body.get("filters") or [], "eligibility_requirements": body.get("eligibility_requirements") or [],
                 "maximum_allowed_time": body.get("maximum_allowed_time"), "stopped": False,
                 "date_created": iso(self.store.now()), "published_at": None,
                 "submissions_config": body.get("submissions_config") or {}}
        for name in ("name", "description", "external_study_url", "prolific_id_option", "completion_codes",
                     "estimated_completion_time", "reward", "total_available_places", "device_compatibility"):
            if name in body:
                study[name] = body[name]
        self._check_study(study)
        return self.store.put("study", study)

    def _default_project(self) -> Document:
        self.me()
        projects = self.store.all("project")
        if projects:
            return projects[0]
        return self.create_project(self.store.all("workspace")[0]["id"], {"title": "Rehearsal"})

    def _check_study(self, study: Document) -> None:
        for name in ("reward", "total_available_places", "estimated_completion_time"):
            value = study.get(name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise bad_request(f"{name}: must be a positive whole number")
        if study["prolific_id_option"] not in PROLIFIC_ID_OPTIONS:
            raise bad_request(f"prolific_id_option: must be one of {', '.join(PROLIFIC_ID_OPTIONS)}")
        codes = study["completion_codes"]
        if not isinstance(codes, list) or not codes or not all(isinstance(c, dict) and c.get("code") for c in codes):
            raise bad_request("completion_codes: at least one {code, code_type, actions} is required")
        if len({c["code"] for c in codes}) != len(codes):
            raise bad_request("completion_codes: each code must be unique within the study")
        if not str(study["external_study_url"]).startswith(("http://", "https://")):
            raise bad_request("external_study_url: must be a URL")
        hourly = study["reward"] * 60 / study["estimated_completion_time"]
        if hourly < MIN_HOURLY_REWARD_CENTS:
            raise bad_request(f"reward: {study['reward']} cents for {study['estimated_completion_time']} minutes is "
                              f"below the minimum hourly reward of {MIN_HOURLY_REWARD_CENTS} cents")

    def study_view(self, study: Document) -> Document:
        subs = list(self.store.where("submission", study_id=study["id"]))
        places = self._places_taken(subs)
        view = {k: v for k, v in study.items() if k not in ("workspace_id", "stopped")}
        view.update(places_taken=places, number_of_submissions=len(subs),
                    total_cost=study["total_available_places"] * (study["reward"] + fee_of(study["reward"])))
        return view

    @staticmethod
    def _places_taken(subs: list[Document]) -> int:
        return sum(s["status"] in HOLDS_PLACE for s in subs)

    def update_study(self, study_id: str, body: dict[str, Any]) -> Document:
        study = self.get("study", study_id)
        if study["status"] == UNPUBLISHED:
            study.update({k: v for k, v in body.items() if k not in ("id", "status")})
            self._check_study(study)
            return self.store.put("study", study)
        refused = sorted(set(body) - set(EDITABLE_AFTER_PUBLISHING))
        if refused:
            raise bad_request(f"{', '.join(refused)}: cannot be changed once the study is published")
        if "total_available_places" in body:
            places = body["total_available_places"]
            if not isinstance(places, int) or isinstance(places, bool) or places < study["total_available_places"]:
                raise bad_request("total_available_places: can only be increased after publishing")
            if places > study["total_available_places"]:
                self._require_funds(study, places - study["total_available_places"])
                study["total_available_places"] = places
                if study["status"] in (AWAITING_REVIEW, COMPLETED):
                    study["status"], study["stopped"] = ACTIVE, False
        if "internal_name" in body:
            study["internal_name"] = str(body["internal_name"])
        return self.store.put("study", study)

    def _require_funds(self, study: Document, places: int) -> None:
        needed = places * (study["reward"] + fee_of(study["reward"]))
        available = self.balance(study["workspace_id"])["available_balance"]
        if needed > available:
            raise bad_request(f"Insufficient balance: {needed} cents needed, {available} available")

    def delete_study(self, study_id: str) -> None:
        study = self.get("study", study_id)
        if study["status"] != UNPUBLISHED:
            raise bad_request("Published studies cannot be deleted")
        self.store.delete("study", study_id)

    def transition_study(self, study_id: str, action: Any) -> Document:
        study = self.get("study", study_id)
        allowed = {"PUBLISH": (UNPUBLISHED,), "PAUSE": (ACTIVE,), "START": (PAUSED, AWAITING_REVIEW),
                   "STOP": (ACTIVE, PAUSED)}
        if action not in allowed:
            raise bad_request(f"action: must be one of {', '.join(allowed)}")
        if study["status"] not in allowed[action]:
            raise bad_request(f"A study in status {study['status']} cannot {action}")
        if action == "PUBLISH":
            self._require_funds(study, study["total_available_places"])
            study["published_at"] = iso(self.store.now())
        study["status"] = {"PUBLISH": ACTIVE, "PAUSE": PAUSED, "START": ACTIVE, "STOP": AWAITING_REVIEW}[action]
        study["stopped"] = action == "STOP"
        self.store.put("study", study)
        return self.settle_study(study)

    def settle_study(self, study: Document) -> Document:
        """The statuses Prolific moves a study to by itself: full → AWAITING REVIEW; everything
        reviewed and nothing more to come → COMPLETED."""
        subs = list(self.store.where("submission", study_id=study["id"]))
        full = self._places_taken(subs) >= study["total_available_places"]
        in_progress = any(s["status"] in IN_PROGRESS for s in subs)
        busy = in_progress or any(s["status"] == AWAITING_REVIEW for s in subs)
        if study["status"] == ACTIVE and full and not in_progress:  # a return may still reopen a place
            study["status"] = AWAITING_REVIEW
        approved = sum(s["status"] == APPROVED for s in subs)
        if study["status"] == AWAITING_REVIEW and not busy and (study["stopped"] or approved >= study["total_available_places"]):
            study["status"] = COMPLETED
        return self.store.put("study", study)

    # -- submissions ----------------------------------------------------------------------
    def expire_overdue(self) -> None:
        """Started submissions past the study's allowed time become TIMED-OUT (their place reopens)."""
        now = self.store.now()
        for sub in self.store.where("submission", status=STARTED):
            study = self.get("study", sub["study_id"])
            minutes = study.get("maximum_allowed_time") or DEFAULT_TIME_FACTOR * study["estimated_completion_time"]
            if now - sub["started_ts"] > minutes * 60:
                self._move(sub, TIMED_OUT)

    def _move(self, sub: Document, status: str) -> Document:
        sub["status"] = status
        if status in (AWAITING_REVIEW, APPROVED) and not sub.get("completed_at"):
            sub["completed_at"] = iso(self.store.now())
        self.store.put("submission", sub)
        self.settle_study(self.get("study", sub["study_id"]))
        return sub

    def submission_short(self, sub: Document) -> Document:
        return {"id": sub["id"], "participant_id": sub["participant_id"], "status": sub["status"],
                "started_at": sub["started_at"], "completed_at": sub.get("completed_at"), "has_siblings": False,
                "study_code": sub.get("study_code"), "return_requested": None}

    def submission_detail(self, sub: Document) -> Document:
        return {"id": sub["id"], "study_id": sub["study_id"], "participant": sub["participant_id"],
                "status": sub["status"], "started_at": sub["started_at"], "completed_at": sub.get("completed_at"),
                "entered_code": sub.get("entered_code"), "bonus_payments": list(sub.get("bonus_payments", [])),
                "return_requested": None}

    def transition_submission(self, sub_id: str, body: dict[str, Any]) -> Document:
        sub = self.get("submission", sub_id)
        action = body.get("action")
        if action == "APPROVE":
            return self._approve(sub)
        if action == "REJECT":
            return self._reject(sub, body.get("message"), body.get("rejection_category"))
        if action == "COMPLETE":
            return self.complete(sub, body.get("completion_code"), actor="researcher")
        raise bad_request("action: must be one of APPROVE, REJECT, COMPLETE")

    def _approve(self, sub: Document) -> Document:
        if sub["status"] == APPROVED:
            return sub  # "idempotent: the second request will be ignored"
        if sub["status"] != AWAITING_REVIEW:
            raise bad_request(f"Only a submission awaiting review can be approved (this one is {sub['status']})")
        study = self.get("study", sub["study_id"])
        self._pay(study["workspace_id"], study["reward"], fee_of(study["reward"]))
        return self._move(sub, APPROVED)

    def _reject(self, sub: Document, message: Any, category: Any) -> Document:
        if sub["status"] == REJECTED:
            return sub
        if sub["status"] != AWAITING_REVIEW:
            raise bad_request(f"Only a submission awaiting review can be rejected (this one is {sub['status']})")
        if not isinstance(message, str) or len(message) < MIN_REJECTION_MESSAGE:
            raise bad_request(f"message: must be at least {MIN_REJECTION_MESSAGE} characters long")
        if category not in REJECTION_CATEGORIES:
            raise bad_request(f"rejection_category: must be one of {', '.join(REJECTION_CATEGORIES)}")
        sub["rejection"] = {"message": message, "category": category}
        return self._move(sub, REJECTED)

    def bulk_approve(self, body: dict[str, Any]) -> str:
        ids = body.get("submission_ids")
        if ids is None and body.get("study_id"):
            wanted = set(body.get("participant_ids") or [])
            ids = [s["id"] for s in self.store.where("submission", study_id=body["study_id"])
                   if s["participant_id"] in wanted]
        if not isinstance(ids, list):
            raise bad_request("submission_ids or study_id with participant_ids is required")
        for sub_id in ids:
            self._approve(self.get("submission", str(sub_id)))
        return "The request to bulk approve has been made successfully."

    # -- what participants do (the control API) -------------------------------------------
    def eligible(self, study: Document, participant_id: str) -> bool:
        allow = _filter_values(study, "custom_allowlist", "CustomWhitelistEligibilityRequirement", "white_list")
        block = _filter_values(study, "custom_blocklist", "CustomBlacklistEligibilityRequirement", "black_list")
        if (allow is not None and participant_id not in allow) or (block is not None and participant_id in block):
            return False
        for kind, member_needed in (("participant_group_allowlist", True), ("participant_group_blocklist", False)):
            for group_id in _group_filter(study, kind):
                group = self.store.get("group", group_id)
                inside = bool(group and participant_id in group["members"])
                if inside != member_needed:
                    return False
        return True

    def open_studies(self, participant_id: str) -> list[Document]:
        self.expire_overdue()
        found = []
        for study in self.store.where("study", status=ACTIVE):
            subs = list(self.store.where("submission", study_id=study["id"]))
            taken = any(s["participant_id"] == participant_id for s in subs)
            if not taken and self._places_taken(subs) < study["total_available_places"] and self.eligible(study, participant_id):
                found.append(study)
        return found

    def start(self, study_id: str, participant_id: str) -> Document:
        if not ID_PATTERN.match(participant_id):
            raise bad_request("participant_id: 24 hexadecimal characters")
        if study_id not in {s["id"] for s in self.open_studies(participant_id)}:
            raise ApiError(409, "Conflict", f"study {study_id[:40]} is not open to participant {participant_id}")
        now = self.store.now()
        sub = {"id": new_id(), "study_id": study_id, "participant_id": participant_id, "status": STARTED,
               "started_at": iso(now), "started_ts": now, "completed_at": None, "bonus_payments": []}
        self.store.put("submission", sub)
        study = self.settle_study(self.get("study", study_id))
        url = (study["external_study_url"].replace("{{%PROLIFIC_PID%}}", participant_id)
               .replace("{{%STUDY_ID%}}", study_id).replace("{{%SESSION_ID%}}", sub["id"]))
        return {"submission_id": sub["id"], "url": url}

    def leave(self, sub_id: str, status: str) -> Document:
        sub = self.get("submission", sub_id)
        if sub["status"] not in IN_PROGRESS:
            raise bad_request(f"submission is {sub['status']}, not in progress")
        return self._move(sub, status)

    def complete(self, sub: Document, code: Any, *, actor: str = "participant") -> Document:
        """The participant's redirect to `complete?cc=CODE` (or the researcher's COMPLETE)."""
        if sub["status"] not in IN_PROGRESS:
            raise bad_request(f"submission is {sub['status']}, not in progress")
        study = self.get("study", sub["study_id"])
        sub["entered_code"] = str(code)[:200]
        match = next((c for c in study["completion_codes"] if c["code"] == code
                      and c.get("actor", "participant") == actor), None)
        sub["study_code"] = match["code_type"] if match else None
        actions = [a.get("action") for a in match.get("actions", [])] if match else []
        for action in (match or {}).get("actions", []):
            if action.get("action") in ("ADD_TO_PARTICIPANT_GROUP", "REMOVE_FROM_PARTICIPANT_GROUP"):
                group = self.get("group", str(action.get("participant_group")))
                members = set(group["members"])
                (members.add if action["action"].startswith("ADD") else members.discard)(sub["participant_id"])
                group["members"] = sorted(members)
                self.store.put("group", group)
        self._move(sub, AWAITING_REVIEW)
        if "AUTOMATICALLY_APPROVE" in actions:
            return self._approve(self.get("submission", sub["id"]))
        return self.get("submission", sub["id"])

    # -- bonuses --------------------------------------------------------------------------
    def set_up_bonuses(self, body: dict[str, Any]) -> Document:
        study = self.get("study", str(body.get("study_id")))
        subs = list(self.store.where("submission", study_id=study["id"]))
        lines = [line.strip() for line in str(body.get("csv_bonuses") or "").splitlines() if line.strip()]
        if not lines:
            raise bad_request("csv_bonuses: at least one line '<participant or submission id>,<amount>'")
        payments, wrong = [], []
        for line in lines:
            who, _, amount_text = line.partition(",")
            sub = next((s for s in subs if who.strip() in (s["id"], s["participant_id"])), None)
            try:
                amount = Decimal(amount_text.strip())
            except InvalidOperation:
                amount = Decimal("NaN")
            if sub is None:
                wrong.append(who.strip()[:40])
            elif not amount.is_finite() or amount <= 0:
                raise bad_request(f"csv_bonuses: {amount_text.strip()[:20]!r} is not an amount")
            else:
                payments.append({"submission_id": sub["id"], "participant_id": sub["participant_id"],
                                 "amount": cents(amount * 100)})
        if wrong:
            raise bad_request(f"csv_bonuses: did not take part in the study: {', '.join(wrong)}")
        total = sum(p["amount"] for p in payments)
        bulk = {"id": new_id(), "study": study["id"], "amount": total, "fees": fee_of(total), "vat": 0,
                "total_amount": total + fee_of(total), "payments": payments, "times_paid": 0}
        self.store.put("bulk_bonus", bulk)
        return {k: bulk[k] for k in ("id", "study", "amount", "fees", "vat", "total_amount")}

    def pay_bonuses(self, bulk_id: str) -> str:
        """Pays every time it is asked, as Prolific documents ("not idempotent")."""
        bulk = self.get("bulk_bonus", bulk_id)
        study = self.get("study", bulk["study"])
        if bulk["total_amount"] > self.balance(study["workspace_id"])["available_balance"]:
            raise bad_request("Insufficient balance to pay the bonuses")
        self._pay(study["workspace_id"], bulk["amount"], bulk["fees"])
        for payment in bulk["payments"]:
            sub = self.get("submission", payment["submission_id"])
            sub.setdefault("bonus_payments", []).append(payment["amount"])
            self.store.put("submission", sub)
            self.store.put("payment", {"id": new_id(), "bulk_id": bulk_id, "study_id": study["id"],
                                       "at": iso(self.store.now()), **payment})
        bulk["times_paid"] += 1
        self.store.put("bulk_bonus", bulk)
        return "Successfully processed bonus payments."

    # -- participant groups and messages --------------------------------------------------
    def create_group(self, body: dict[str, Any]) -> Document:
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise bad_request("name: This field is required.")
        workspace = body.get("workspace_id")
        if workspace is None and body.get("project_id"):
            workspace = self.get("project", str(body["project_id"]))["workspace"]
        if workspace is None:
            raise bad_request("workspace_id: This field is required.")
        self.get("workspace", str(workspace))
        members = sorted(set(_ids(body.get("participant_ids") or [])))
        return self.store.put("group", {"id": new_id(), "name": name, "description": body.get("description", ""),
                                        "workspace_id": workspace, "project_id": body.get("project_id"),
                                        "members": members, "joined": {m: iso(self.store.now()) for m in members},
                                        "is_deleted": False})

    def group_view(self, group: Document) -> Document:
        return {"id": group["id"], "name": group["name"], "description": group["description"],
                "workspace_id": group["workspace_id"], "project_id": group["project_id"], "organisation_id": None,
                "participant_count": len(group["members"]), "is_deleted": group["is_deleted"], "feeder_studies": []}

    def members(self, group: Document) -> Document:
        return {"results": [{"participant_id": m, "datetime_created": group["joined"].get(m)} for m in group["members"]]}

    def change_members(self, group_id: str, ids: Any, add: bool) -> Document:
        group = self.get("group", group_id)
        members = set(group["members"])
        for participant in _ids(ids):
            if add and participant not in members:
                group["joined"][participant] = iso(self.store.now())
            (members.add if add else members.discard)(participant)
        group["members"] = sorted(members)
        self.store.put("group", group)
        return self.members(group)

    def send_message(self, body: dict[str, Any]) -> None:
        missing = [k for k in ("recipient_id", "body", "study_id") if not body.get(k)]
        if missing:
            raise bad_request("; ".join(f"{k}: This field is required." for k in missing))
        sender = self.me()["id"]
        self.store.put("message", {"id": new_id(), "sender_id": sender, "recipient_id": str(body["recipient_id"]),
                                   "body": str(body["body"]), "sent_at": iso(self.store.now()),
                                   "channel_id": f"{sender}-{body['recipient_id']}", "type": "message",
                                   "data": {"study_id": body["study_id"], "category": None}})


def _ids(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_request("participant_ids: a list of participant ids")
    return value


def _filter_values(study: Document, filter_id: str, legacy_cls: str, legacy_name: str) -> set[str] | None:
    """The ids of an allow or block list, from the current `filters` or the legacy requirements."""
    found: set[str] | None = None
    for item in study.get("filters") or []:
        if item.get("filter_id") == filter_id:
            found = (found or set()) | set(item.get("selected_values") or [])
    for item in study.get("eligibility_requirements") or []:
        if str(item.get("_cls", "")).endswith(legacy_cls):
            for attribute in item.get("attributes") or []:
                if attribute.get("name") == legacy_name:
                    found = (found or set()) | set(attribute.get("value") or [])
    return found


def _group_filter(study: Document, filter_id: str) -> list[str]:
    groups = [v for item in study.get("filters") or [] if item.get("filter_id") == filter_id
              for v in item.get("selected_values") or []]
    if filter_id == "participant_group_allowlist":
        groups += [a.get("id") for item in study.get("eligibility_requirements") or []
                   if str(item.get("_cls", "")).endswith("ParticipantGroupEligibilityRequirement")
                   for a in item.get("attributes") or [] if a.get("value") is True]
    return [g for g in groups if isinstance(g, str)]
