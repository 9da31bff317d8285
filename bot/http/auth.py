"""HMAC-SHA256 request signatures: timestamp, method, path and raw body (README: HTTP API)."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

TIMESTAMP_HEADER = "X-Deposit-Timestamp"
SIGNATURE_HEADER = "X-Deposit-Signature"
WINDOW = timedelta(minutes=5)
_TIMESTAMP = re.compile(r"[0-9]{1,12}(\.[0-9]{1,9})?")
_SIGNATURE = re.compile(r"sha256=([0-9a-f]{64})")


class AuthError(Exception):
    """A request that is not signed as README says: answered 401 with the reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def message(timestamp: str, method: str, path: str, body: bytes) -> bytes:
    """What is signed: `TIMESTAMP.METHOD.PATH.` followed by the raw body bytes."""
    return f"{timestamp}.{method.upper()}.{path}.".encode() + body


def sign(secret: str, timestamp: str, method: str, path: str, body: bytes = b"") -> str:
    """The X-Deposit-Signature value for a request."""
    digest = hmac.new(secret.encode(), message(timestamp, method, path, body), hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def signed_headers(secret: str, now: datetime, method: str, path: str,
                   body: bytes = b"") -> dict[str, str]:
    """Both headers for a request made at now (clients in Python and the tests use it)."""
    stamp = str(int(now.timestamp()))
    return {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: sign(secret, stamp, method, path, body)}


@dataclass(frozen=True)
class Verified:
    """A request whose signature holds: the signature (for replay checks) and its expiry."""

    signature: str
    expires_at: datetime


def verify(secret: str, timestamp: str | None, signature: str | None, method: str, path: str,
           body: bytes, now: datetime) -> Verified:
    """Check headers, clock skew and the HMAC; raise AuthError saying what is wrong."""
    if not timestamp or not signature:
        missing = TIMESTAMP_HEADER if not timestamp else SIGNATURE_HEADER
        raise AuthError(f"missing header {missing}")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise AuthError(f"{TIMESTAMP_HEADER} must be unix seconds, e.g. 1763690400")
    match = _SIGNATURE.fullmatch(signature.strip().lower())
    if match is None:
        raise AuthError(f"{SIGNATURE_HEADER} must be sha256=<64 hex digits>")
    # compared as numbers first: a far timestamp (999999999999) is no datetime at all
    seconds = Decimal(timestamp)
    if abs(Decimal(str(now.timestamp())) - seconds) > Decimal(WINDOW.total_seconds()):
        raise AuthError("timestamp is more than 5 minutes away from the server's clock")
    sent_at = datetime.fromtimestamp(float(seconds), tz=now.tzinfo)
    expected = sign(secret, timestamp, method, path, body)
    if not hmac.compare_digest(expected.encode(), ("sha256=" + match.group(1)).encode()):
        raise AuthError("signature does not match")
    return Verified(match.group(1), sent_at + WINDOW)
