"""The service's API keys: create, check, list and revoke; who a request is.

A key is shown once, when it is created; the store keeps only its SHA-256, so
a stolen database does not hand out working keys.  Each key has a scope:
``own`` sees only the endpoints it created (and their messages and attempts),
``admin`` sees every endpoint.  Revoking a key takes effect on the next request
(every request looks the key up), and keeps the row so its endpoints still
name their owner.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import select as sa_select
from sqlmodel import col, select

from empathy.core.errors import ConfigError
from empathy.core.store.store import Store
from empathy.core.store.tables import WebhookApiKeyRow

__all__ = [
    "ADMIN",
    "OWN",
    "SCOPES",
    "ApiKey",
    "KeyInfo",
    "check_api_key",
    "create_api_key",
    "key_is_live",
    "list_api_keys",
    "revoke_api_key",
]

#: A key that sees only the endpoints it created.
OWN = "own"
#: A key that sees every endpoint (given explicitly: ``empathy api-key create NAME --admin``).
ADMIN = "admin"
SCOPES = (OWN, ADMIN)


@dataclass(frozen=True)
class ApiKey:
    """Who a request is: the key's row id, name and scope (never the key itself)."""

    id: int
    name: str
    scope: str

    @property
    def admin(self) -> bool:
        return self.scope == ADMIN


@dataclass(frozen=True)
class KeyInfo:
    """One key as ``empathy api-key list`` shows it."""

    name: str
    prefix: str
    scope: str
    created_at: float
    revoked: bool
    revoked_at: float | None

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "prefix": self.prefix,
            "scope": self.scope,
            "created_at": self.created_at,
            "revoked": self.revoked,
            "revoked_at": self.revoked_at,
        }


def _hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_api_key(store: Store, name: str, scope: str = OWN) -> str:
    """Create a key and return it; only its SHA-256 is stored, so it is shown once.

    Names are unique among live keys, so ``revoke NAME`` names one key; a
    revoked key's name can be given to a new key.
    """
    if scope not in SCOPES:
        raise ConfigError(f"unknown key scope {scope!r}", f"use one of {', '.join(SCOPES)}")
    key = "emp_" + secrets.token_urlsafe(32)
    with store.session() as s:
        k = WebhookApiKeyRow
        taken = s.exec(select(k).where(col(k.name) == name, col(k.revoked).is_(False))).first()
        if taken is not None:
            raise ConfigError(
                f"a live API key is already named {name!r}",
                f"choose another name, or `empathy api-key revoke {name}` first",
            )
        s.add(
            WebhookApiKeyRow(name=name, prefix=key[:10], key_hash=_hash_key(key), created_at=time.time(), scope=scope)
        )
        s.commit()
    return key


def check_api_key(store: Store, key: str) -> ApiKey | None:
    """The live key ``key`` is, or None (looked up by hash, so timing leaks nothing useful)."""
    if not key or not key.isascii() or len(key) > 200:
        return None
    k = WebhookApiKeyRow
    with store.engine.connect() as conn:
        row = conn.execute(
            sa_select(col(k.id), col(k.name), col(k.scope)).where(
                col(k.key_hash) == _hash_key(key), col(k.revoked).is_(False)
            )
        ).first()
    if row is None:
        return None
    key_id, name, scope = row
    assert isinstance(key_id, int)
    return ApiKey(id=key_id, name=str(name), scope=str(scope))


def key_is_live(store: Store, key_id: int) -> bool:
    """Whether the key with this row id is still live (an open event stream asks this as it goes)."""
    k = WebhookApiKeyRow
    with store.engine.connect() as conn:
        row = conn.execute(sa_select(col(k.revoked)).where(col(k.id) == key_id)).first()
    return row is not None and not row[0]


def list_api_keys(store: Store) -> list[KeyInfo]:
    """Every key, live and revoked, oldest first (the hash is never shown)."""
    with store.session() as s:
        rows = s.exec(select(WebhookApiKeyRow).order_by(col(WebhookApiKeyRow.id))).all()
    return [KeyInfo(r.name, r.prefix, r.scope, r.created_at, r.revoked, r.revoked_at) for r in rows]


def revoke_api_key(store: Store, name: str) -> int:
    """Revoke the live key(s) named ``name``; how many were live (0: it was revoked already).

    Raises :class:`ConfigError` (exit 4) when no key, live or revoked, has the name.
    Older stores may hold several live keys of one name (names were not unique
    before): all of them are revoked.
    """
    now = time.time()
    with store.session() as s:
        rows = s.exec(select(WebhookApiKeyRow).where(col(WebhookApiKeyRow.name) == name)).all()
        if not rows:
            raise ConfigError(f"no API key is named {name!r}", "`empathy api-key list` shows the keys")
        live = [r for r in rows if not r.revoked]
        for row in live:
            row.revoked, row.revoked_at = True, now
            s.add(row)
        s.commit()
    return len(live)
