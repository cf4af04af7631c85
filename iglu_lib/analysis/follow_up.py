"""`iglu analyze --follow-up F`: a campaign parameter file for an adaptive follow-up that collects
only the pairs whose order is not settled (`next_step`), as many HITs as the estimate says.

The file starts from a campaign parameter file (`base`: the campaign that was analysed, or the
adaptive example `params/campaigns/demo-adaptive.yaml`), so join codes, agent instances, profile,
validation and sanctions stay those of the campaign; it sets
- `campaign`: a new partition (`<campaign>-follow-up`), so the follow-up's records are its own;
- `pairs`: the unsettled pairs, the only agent sets the scheduler offers;
- `scheduling: adaptive`: within those pairs, the least settled gets the most HITs;
- `target_approved_hits`: the estimated further decisive comparisons over all the pairs, divided
  by the share of decisive judgements so far (ties and no decisions dilute every HIT);
- `budget`: that many HITs at the profile's reward plus the fee rate.
`stop_when` is left out: the rule checks the order of all agents on the follow-up's own records,
which hold only the targeted pairs, so it could not fire; the analysis of both campaigns
together says whether the order is then settled.
"""

from __future__ import annotations

import logging
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

from iglu_lib.analysis.next_step import NextStep
from iglu_lib.errors import IgluError

log = logging.getLogger(__name__)

#: The adaptive example whose settings a follow-up starts from when no campaign file is given.
DEFAULT_BASE = Path("params") / "campaigns" / "demo-adaptive.yaml"


class FollowUpError(IgluError):
    """No follow-up can be written (nothing unsettled, or an unreadable base file)."""


def follow_up_parameters(step: NextStep, base: dict[str, Any], *, decisive_share: float,
                         campaign: str | None = None, reward: str | None = None) -> dict[str, Any]:
    """The follow-up's campaign parameters (see the module docstring)."""
    if not step.pairs:
        raise FollowUpError("every pair's order is settled: no follow-up is needed")
    comparisons = sum(pair.needed if pair.needed is not None else step.cap for pair in step.pairs)
    hits = max(1, math.ceil(comparisons / max(decisive_share, 0.05)))
    params = {key: value for key, value in base.items() if key not in ("stop_when", "pairs")}
    name = campaign or str(base.get("campaign") or "campaign")
    params["campaign"] = f"{name}-follow-up"
    params["mode"] = "pairwise"
    params["pairs"] = [[pair.leader, pair.other] for pair in step.pairs]
    scheduling = dict(base.get("scheduling") or {})
    params["scheduling"] = {**scheduling, "strategy": "adaptive"} if scheduling.get("strategy") == "adaptive" \
        else {"strategy": "adaptive"}
    params["target_approved_hits"] = hits
    if reward is not None:
        fee = Decimal(str(base.get("fee_rate", "0.20")))
        params["budget"] = str((Decimal(reward) * (1 + fee) * hits).quantize(Decimal("0.01")))
    return params


def write_follow_up(path: str | Path, step: NextStep, *, decisive_share: float, base_file: str | Path | None = None,
                    campaign: str | None = None, root: Path | None = None) -> Path:
    """Write the follow-up parameter file (YAML, with a comment saying where it came from)."""
    import yaml

    from iglu_lib import paths

    root = root or paths.project_root()
    base_path = Path(base_file) if base_file else root / DEFAULT_BASE
    try:
        base = yaml.safe_load(base_path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise FollowUpError(f"cannot read the campaign parameters {base_path.name}: {err}") from None
    if not isinstance(base, dict):
        raise FollowUpError(f"{base_path.name} is not a mapping of campaign parameters")
    params = follow_up_parameters(step, base, decisive_share=decisive_share, campaign=campaign,
                                  reward=_reward(str(base.get("profile", "local"))))
    lines = [f"# A follow-up of {campaign or base.get('campaign')}: only the pairs whose order is not settled at "
             f"{step.level:.0%}", "# (written by `iglu analyze --follow-up`). Run it with "
             "`iglu collect --params <this file>`.", "# Further decisive comparisons each pair needs "
             f"(median of {step.simulations} simulations from the fitted strengths):"]
    lines += [f"#   {p.leader} vs {p.other}: {p.needed if p.needed is not None else f'more than {step.cap}'}"
              for p in step.pairs]
    lines.append(f"# target_approved_hits divides their sum by the share of decisive judgements so far "
                 f"({decisive_share:.0%}).")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n" + yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    log.info("wrote the follow-up parameters %s", out)
    return out


def _reward(profile: str) -> str | None:
    """The profile's HIT reward, or None when the profile cannot be read here (the budget of the
    base file is then kept)."""
    from iglu_lib.config import load_profile

    try:
        return str(load_profile(profile).hit.reward)
    except IgluError as err:
        log.info("no reward from profile %s (%s); the follow-up keeps the base budget", profile, err)
        return None
