"""Identity: users and passwords, app sessions and API tokens. Managing tokens and users is for
admins; the check is made here, whichever adapter asks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reffy.auth import LOCAL_USER, Role, User
from reffy.errors import NotFound
from reffy.service.base import ServiceBase

if TYPE_CHECKING:
    from reffy.sessions import SessionStore, SignedIn


class IdentityOps(ServiceBase):
    def login_required(self) -> bool:
        from reffy.auth import users_file

        return users_file(self.settings) is not None

    def authenticate(self, name: str, password: str) -> User | None:
        from reffy.auth import authenticate

        user = authenticate(self.settings, name, password)
        if user is not None:
            self.history.ensure_user(user.name, user.role.value)
        return user

    # -- app sessions (see reffy.sessions) ------------------------------------------------
    @property
    def sessions(self) -> SessionStore:
        from reffy.sessions import SessionStore

        return SessionStore(self.history)

    @property
    def session_cookie(self) -> str:
        """The cookie name the web app keeps its session token under: one per library, since
        cookies ignore ports and two Reffy apps on one host must not overwrite each other's."""
        import hashlib

        return "reffy_session_" + hashlib.sha256(str(self.settings.home).encode()).hexdigest()[:10]

    def log_in(self, name: str, password: str) -> SignedIn | None:
        """Check a name and password and start a session lasting ``REFFY_SESSION_HOURS``: the
        user, the token the browser keeps and how many seconds it is good for; None when wrong."""
        from reffy.sessions import SignedIn

        user = self.authenticate(name, password)
        if user is None:
            return None
        token, session = self.sessions.create(user.name, user.role.value, hours=self.settings.session_hours)
        return SignedIn(user, token, session.seconds_left(self.history._clock()))

    def session_user(self, token: str | None) -> User | None:
        """Who a session token signs in, or None (unknown, expired, logged out). A password
        session is checked against the users file each time: a removed user is out at once (and
        the session ended), a changed role applies at once."""
        session = self.sessions.resolve(token)
        if session is None:
            return None
        if session.via != "password":
            return User(session.user, Role(session.role))
        entry = self._users().get(session.user)
        if entry is None:
            self.sessions.revoke(token)
            return None
        return User(session.user, entry[0])

    def log_out(self, token: str | None) -> bool:
        """End the session ``token`` names (the cookie that holds it is refused from now on)."""
        return self.sessions.revoke(token)

    def _users(self) -> dict[str, tuple[Role, str]]:
        """The users file, re-read only when it changes (checked on every app request)."""
        from reffy.auth import load_users, users_file

        path = users_file(self.settings)
        if path is None:
            return {}
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        cached = self._users_cache
        if cached is None or cached[0] != key:
            cached = self._users_cache = (key, load_users(path))
        return cached[1]

    def create_token(self, user_name: str, role: Role | str, label: str = "", *, user: User = LOCAL_USER) -> str:
        """A new API token for ``user_name`` with ``role`` (admins)."""
        user.require("manage_tokens")
        token, _ = self.history.add_token(user_name.strip(), Role(role).value, label)
        return token

    def token_user(self, token: str) -> User | None:
        found = self.history.token_user(token)
        return User(found[0], Role(found[1]), via="token") if found else None

    def remove_user(self, name: str, *, user: User = LOCAL_USER) -> dict[str, Any]:
        """Remove a user: their users-file entry and every active API token issued to them (a
        removed person must not keep access through a token). NotFound when neither exists."""
        user.require("manage_tokens")
        from reffy.auth import remove_user, users_file

        name = name.strip()
        path = users_file(self.settings)
        role = remove_user(path, name) if path is not None else None
        revoked = []
        for token in self.history.list_tokens():
            if token["user"] == name and not token["revoked"] and self.history.revoke_token(token["id"]):
                revoked.append(token["id"])
        self.sessions.revoke_user(name)  # signed in in the app: out now, not at the session's expiry
        if role is None and not revoked:
            where = f"in {path}" if path is not None else "(single-user mode: there is no users file)"
            raise NotFound(
                f"No user {name!r} {where} and no API token for them: `reffy user list` shows the users, "
                "`reffy token list` the tokens."
            )
        return {
            "name": name,
            "role": role.value if role else None,
            "users_file": str(path) if role else None,
            "tokens_revoked": revoked,
        }

    def list_tokens(self, *, user: User = LOCAL_USER) -> list[dict[str, Any]]:
        user.require("manage_tokens")
        return self.history.list_tokens()

    def revoke_token(self, token_id: int, *, user: User = LOCAL_USER) -> bool:
        user.require("manage_tokens")
        return self.history.revoke_token(token_id)

    def api_auth_required(self) -> bool:
        if self.settings.api_auth is not None:
            return self.settings.api_auth
        # Once any token was ever issued the API stays closed: revoking the last token must not
        # reopen it to anonymous admin access.
        return bool(self.history.list_tokens())
