"""Signatures: Standard Webhooks (outbound and ``POST /v1/events``) and GitHub's ``X-Hub-Signature-256``.

Both sign the exact bytes on the wire, so verification always runs on the raw
body before anything parses it.  Every verifier here returns a reason or
raises :class:`SignatureError` for *any* malformed input (no comma, bad
base64, a non-numeric or stale timestamp, non-ASCII text): a caller turns
that into a 401, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import secrets
import time
from collections.abc import Iterable, Mapping

__all__ = [
    "SECRET_PREFIX",
    "TOLERANCE_SECONDS",
    "SignatureError",
    "new_secret",
    "secret_bytes",
    "sign",
    "signature_header",
    "verify_github",
    "verify_standard",
]

SECRET_PREFIX = "whsec_"
#: Timestamp tolerance of the Standard Webhooks reference libraries.
TOLERANCE_SECONDS = 300


class SignatureError(ValueError):
    """A request whose signature is missing, malformed or wrong (answer 401)."""


def new_secret() -> str:
    """A ``whsec_`` secret: 32 random bytes, base64 (the spec allows 24-64)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def secret_bytes(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret (the prefix is optional, the rest base64)."""
    raw = secret[len(SECRET_PREFIX) :] if secret.startswith(SECRET_PREFIX) else secret
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("the secret is not base64") from None


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature over ``{id}.{timestamp}.{body}``."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_bytes(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signature_header(secrets_: Iterable[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: one signature per live secret, space-separated (rotation)."""
    return " ".join(sign(s, msg_id, timestamp, body) for s in secrets_)


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    raise SignatureError(f"missing {name} header")


def verify_standard(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> str:
    """Check a Standard Webhooks request; return its ``webhook-id`` or raise :class:`SignatureError`."""
    msg_id = _header(headers, "webhook-id")
    raw_ts = _header(headers, "webhook-timestamp")
    raw_sig = _header(headers, "webhook-signature")
    for name, value in (("webhook-id", msg_id), ("webhook-timestamp", raw_ts), ("webhook-signature", raw_sig)):
        if not value.isascii():
            raise SignatureError(f"{name} is not ASCII")
    if not msg_id or "." in msg_id or len(msg_id) > 256:
        raise SignatureError("webhook-id is empty, too long or contains '.'")
    if not raw_ts.isdigit() or len(raw_ts) > 12:
        raise SignatureError("webhook-timestamp is not an integer number of seconds")
    ts = int(raw_ts)
    current = time.time() if now is None else now
    if not math.isfinite(current) or abs(current - ts) > tolerance:
        raise SignatureError("webhook-timestamp is outside the tolerance")
    expected = sign(secret, msg_id, ts, body).split(",", 1)[1].encode("ascii")
    seen_v1 = False
    for entry in raw_sig.split():
        version, sep, value = entry.partition(",")
        if not sep:
            raise SignatureError("a webhook-signature entry has no comma")
        if version != "v1":
            continue
        seen_v1 = True
        try:
            decoded = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise SignatureError("a webhook-signature entry is not base64") from None
        if len(decoded) == 32 and hmac.compare_digest(value.encode("ascii"), expected):
            return msg_id
    raise SignatureError("no matching signature" if seen_v1 else "no v1 signature")


def verify_github(secret: str, header: str | None, body: bytes) -> None:
    """Check ``X-Hub-Signature-256: sha256=<hex>`` over the raw body, in constant time."""
    if not header:
        raise SignatureError("missing X-Hub-Signature-256 header")
    if not header.isascii():
        raise SignatureError("X-Hub-Signature-256 is not ASCII")
    algo, sep, digest = header.partition("=")
    if not sep or algo != "sha256":
        raise SignatureError("X-Hub-Signature-256 is not of the form sha256=<hex>")
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(digest.lower().encode("ascii"), expected.encode("ascii")):
        raise SignatureError("X-Hub-Signature-256 does not match the body")
