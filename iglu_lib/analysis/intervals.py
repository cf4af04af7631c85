"""Wilson score intervals for proportions.

Win rates here rest on a few dozen comparisons, where the normal approximation gives
intervals outside [0, 1] or of zero width at 0 and 1; the Wilson interval does neither.
"""

from __future__ import annotations

import math

#: Two-sided 95% standard normal quantile.
Z95 = 1.959963984540054


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """Lower and upper bound of the Wilson score interval; (nan, nan) without trials."""
    if trials <= 0:
        return (math.nan, math.nan)
    if not 0 <= successes <= trials:
        raise ValueError(f"successes must lie in 0..{trials}, got {successes}")
    p = successes / trials
    denominator = 1.0 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))
