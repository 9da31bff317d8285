"""Where references, recharge codes, withdrawal ids and one-time codes come from.

Production draws from `secrets`; the sandbox draws from a seeded generator so that a
transcript run with `--now` prints the same codes every time and can be scripted.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read over the phone
HEX = "0123456789ABCDEF"


class Ids:
    """Generates every identifier the core hands out; `choice` is the source of randomness."""

    def __init__(self, choice: Callable[[str], str] = secrets.choice) -> None:
        self._choice = choice

    def _draw(self, alphabet: str, length: int) -> str:
        return "".join(self._choice(alphabet) for _ in range(length))

    def payment_ref(self) -> str:
        """A payment reference for an online method."""
        return "PAY-" + self._draw(ALPHABET, 10)

    def recharge_code(self) -> str:
        """A recharge code (充值码) for the bank transfer memo."""
        return "RC" + self._draw(ALPHABET, 10)

    def withdrawal_id(self) -> str:
        """A withdrawal's id."""
        return "W-" + self._draw(HEX, 12)

    def code(self) -> str:
        """A six-digit one-time verification code."""
        return self._draw("0123456789", 6)


RANDOM_IDS = Ids()


def seeded_ids(seed: str) -> Ids:
    """Repeatable identifiers for the sandbox (never for production)."""
    generator = random.Random(seed)
    return Ids(generator.choice)
