"""The collection loop: run a campaign on the crowd platform until enough good work exists.

`Campaign` ties the scheduler (which games next), the HIT manager (the crowd platform), the
game-data client and validation (was the work real) and the game records (what happened)
together, writing every decision to the records before acting on it. No package imports this
package (only top-level command modules and notebooks do); it imports the others. Heavy
libraries load only when a campaign runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iglu_lib.lazy import lazy_exports

if TYPE_CHECKING:  # the checker sees the real names; at run time they load on first use
    from iglu_lib.collection.campaign import Campaign as Campaign
    from iglu_lib.collection.campaign import TurnReport as TurnReport
    from iglu_lib.collection.params import CampaignParams as CampaignParams
    from iglu_lib.collection.status import campaign_status as campaign_status

_EXPORTS = {
    "CampaignParams": "iglu_lib.collection.params",
    "Campaign": "iglu_lib.collection.campaign",
    "TurnReport": "iglu_lib.collection.campaign",
    "campaign_status": "iglu_lib.collection.status",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
