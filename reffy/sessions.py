"""App sessions: a login that survives a page refresh or a pasted link, and ends for real at logout.

The browser keeps a random token (256 bits) in a cookie; the ``sessions`` table of the history
store (:mod:`reffy.history`, schema v2) keeps only its SHA-256, as for API tokens, with who signed
in, their role, how (``password`` or ``sso``), when it started and when it expires. Resolving a
token is one indexed read. A revoked or expired row resolves to nothing, so a cookie copied before
logout is worthless afterwards: ending the session is a row update, not a request to the browser.

The session does not freeze permissions: :meth:`reffy.service.ReffyService.session_user` checks
the users file on every request, so a removed user or a changed role takes effect at once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from reffy.auth import User, hash_token
from reffy.history import HistoryStore, _iso

SESSION_PREFIX = "reffy_s_"
MAX_TOKEN_CHARS = 200  # anything longer is not one of ours: refused without hashing it


@dataclass(frozen=True, slots=True)
class Session:
    """One live login."""

    id: int
    user: str
    role: str
    via: str
    created_at: str
    expires_at: str

    def seconds_left(self, now: datetime) -> int:
        return max(0, int((datetime.fromisoformat(self.expires_at) - now).total_seconds()))


def new_session_token() -> str:
    return SESSION_PREFIX + secrets.token_urlsafe(32)


class SessionStore:
    """Create, resolve and revoke sessions in the history store (a companion of
    :class:`~reffy.history.HistoryStore`, writing through its one transaction helper)."""

    _COLUMNS = "id, user, role, via, created_at, expires_at"

    def __init__(self, history: HistoryStore) -> None:
        self.history = history

    def _now(self) -> datetime:
        return self.history._clock()

    def create(self, user: str, role: str, *, hours: float, via: str = "password") -> tuple[str, Session]:
        """A new session for ``user``: (the token for the browser, shown once; the session)."""
        token = new_session_token()
        now = self._now()
        row = {
            "token_hash": hash_token(token),
            "user": user,
            "role": role,
            "via": via,
            "created_at": _iso(now),
            "expires_at": _iso(now + timedelta(hours=hours)),
        }
        session_id = self.history._write(lambda db: db.table("sessions").insert(row).last_pk)
        assert session_id is not None  # an insert into a rowid table has one
        return token, Session(session_id, user, role, via, row["created_at"], row["expires_at"])

    def resolve(self, token: str | None) -> Session | None:
        """The live session ``token`` names, or None (unknown, expired, revoked, malformed)."""
        if not token or len(token) > MAX_TOKEN_CHARS or not token.startswith(SESSION_PREFIX):
            return None
        rows = self.history._rows(
            f"SELECT {self._COLUMNS} FROM sessions WHERE token_hash = ? AND revoked_at IS NULL AND expires_at > ?",
            [hash_token(token), _iso(self._now())],
        )
        return Session(**rows[0]) if rows else None

    def revoke(self, token: str | None) -> bool:
        """End the session ``token`` names; False when there was no live one."""
        if not token or len(token) > MAX_TOKEN_CHARS:
            return False

        def write(db) -> bool:
            cursor = db.execute(
                "UPDATE sessions SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL",
                [_iso(self._now()), hash_token(token)],
            )
            return cursor.rowcount == 1

        return self.history._write(write)

    def revoke_user(self, user: str) -> int:
        """End every live session of ``user`` (they were removed); how many there were."""

        def write(db) -> int:
            now = _iso(self._now())
            cursor = db.execute(
                "UPDATE sessions SET revoked_at = ? WHERE user = ? AND revoked_at IS NULL AND expires_at > ?",
                [now, user, now],
            )
            return cursor.rowcount

        return self.history._write(write)

    def live(self, user: str | None = None) -> list[Session]:
        """Live sessions (of ``user``), newest first."""
        where = "revoked_at IS NULL AND expires_at > ?" + (" AND user = ?" if user is not None else "")
        params = [_iso(self._now()), *([user] if user is not None else [])]
        rows = self.history._rows(f"SELECT {self._COLUMNS} FROM sessions WHERE {where} ORDER BY id DESC", params)
        return [Session(**r) for r in rows]


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A successful login: who, the token the browser keeps (its cookie), and for how long."""

    user: User
    token: str
    max_age_s: int
