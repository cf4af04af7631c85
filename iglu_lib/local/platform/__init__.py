"""The Minecraft data-collection platform, simulated for rehearsal and tests.

`PlatformSimulator(storage, blob_service)` (or `profile.backend.rehearsal().platform()`)
uploads tasks, produces the two join-code exports, registers agents with instance pools and a
skill, and plays games that write real-format events and return real completion codes. Simulated architects are in `architects.ARCHITECTS`.
"""

from iglu_lib.local.platform.architects import ARCHITECTS, ArchitectProfile
from iglu_lib.local.platform.simulator import PlatformSimulator, SimulatorError

__all__ = ["ARCHITECTS", "ArchitectProfile", "PlatformSimulator", "SimulatorError"]
