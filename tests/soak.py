"""Sizes and seeds of the reliability tests: `make test` runs them small, `make soak` long.

DEPOSIT_SOAK=N scales every reliability test (examples, tasks, rounds); a non-numeric value
means 2000. DEPOSIT_SEED=S replays one failing run exactly: every randomized reliability test
prints the seed it used in its failure message.
"""

from __future__ import annotations

import os
import random

_SOAK = os.environ.get("DEPOSIT_SOAK", "")
SOAK = int(_SOAK) if _SOAK.isdigit() else (2000 if _SOAK else 0)
_SEED = os.environ.get("DEPOSIT_SEED", "").strip()
BASE_SEED = int(_SEED) if _SEED.isdigit() else random.SystemRandom().randrange(10**9)


def rng_seed(index: int) -> int:
    """The seed of round `index`: DEPOSIT_SEED itself when set (a replay), else base + index."""
    return BASE_SEED if _SEED.isdigit() else BASE_SEED + index


def scaled(small: int, per_soak: float) -> int:
    """`small` in make test; DEPOSIT_SOAK × per_soak (at least small) in make soak."""
    return max(small, int(SOAK * per_soak)) if SOAK else small
