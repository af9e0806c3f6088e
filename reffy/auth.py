"""Who may do what: roles, audiences, app passwords and API-token hashing.

Roles are ordered: a viewer only ever sees the external audience; members search and ask;
analysts also edit overrides and see analytics; admins also ingest and manage tokens. A
laptop with no users file is single-user mode: one local admin, no login.

Passwords are argon2id hashes (argon2-cffi) in a YAML users file; API tokens are random
and stored only as SHA-256 digests (they carry 256 bits of entropy, so a slow hash adds
nothing), by the history store.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Literal

import yaml

from reffy.config import Settings
from reffy.errors import ConfigError, PermissionDenied

Audience = Literal["internal", "external"]
TOKEN_PREFIX = "reffy_"


class Role(StrEnum):
    viewer = "viewer"
    member = "member"
    analyst = "analyst"
    admin = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)


# The least role each guarded action needs.
ACTIONS: dict[str, Role] = {
    "search": Role.viewer,
    "ask": Role.viewer,
    "read_story": Role.viewer,
    "feedback": Role.viewer,
    "analytics": Role.analyst,
    "override": Role.analyst,
    "ingest": Role.admin,
    "manage_tokens": Role.admin,
}


# How an action is named in a refusal, where its key is not a word people use.
ACTION_WORDS = {
    "read_story": "reading stories",
    "override": "correcting stories",
    "manage_tokens": "managing API tokens",
}


@dataclass(frozen=True, slots=True)
class User:
    """Someone acting on the library. ``via`` says where the identity came from ("account": the
    users file or single sign-on; "token": an API token), so a refusal names the right fix; it
    takes no part in equality."""

    name: str
    role: Role = Role.member
    via: Literal["account", "token"] = field(default="account", compare=False)

    def can(self, action: str) -> bool:
        return self.role.rank >= ACTIONS[action].rank

    def refusal(self, action: str) -> str:
        """Why this user may not do ``action``, and what to ask for: a token holder needs a token
        with a higher role, an account holder a higher role on their account."""
        need = ACTIONS[action].value
        higher = "" if ACTIONS[action] is Role.admin else " or higher"
        fix = (
            f"Ask an admin for an API token with the {need} role{higher}."
            if self.via == "token"
            else f"Ask an admin to give your account the {need} role{higher}."
        )
        doing = ACTION_WORDS.get(action, action)
        return f"{self.name} is a {self.role.value}: {doing} needs the {need} role{higher}. {fix}"

    def require(self, action: str) -> None:
        if not self.can(action):
            raise PermissionDenied(self.refusal(action))

    @property
    def principal(self) -> str:
        """Who owns history (conversations, their messages): the name *and* the role's class,
        ``viewer:<name>`` or ``staff:<name>``. A name alone is no identity - an admin may issue a
        viewer token named like a member (``reffy token add alice --role viewer``) - and what
        separates them is what their conversations may hold: a viewer's only ever the external
        audience, staff's internal answers too. Staff roles (member, analyst, admin) see the same
        audiences, so a member promoted to analyst keeps their conversations."""
        return f"{'viewer' if self.role is Role.viewer else 'staff'}:{self.name}"

    def audience(self, requested: Audience | None, default: Audience = "internal") -> Audience:
        """The audience this user gets: viewers are always external; others choose."""
        if self.role is Role.viewer:
            return "external"
        return requested or default


LOCAL_USER = User("local", Role.admin)


def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher()


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise ConfigError("Passwords need at least 8 characters.")
    return _hasher().hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return _hasher().verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def users_file(settings: Settings) -> Path | None:
    """The users file in force, or None for single-user mode."""
    if settings.users_file is not None:
        if not settings.users_file.is_file():
            raise ConfigError(f"REFFY_USERS_FILE points at {settings.users_file}, which does not exist.")
        return settings.users_file
    default = settings.home / "users.yaml"
    return default if default.is_file() else None


def load_users(path: Path) -> dict[str, tuple[Role, str]]:
    """{name: (role, password hash)} from ``users: [{name, role, password_hash}]``."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"Cannot read users file {path}: {exc}") from exc
    users: dict[str, tuple[Role, str]] = {}
    for i, entry in enumerate(raw.get("users") or []):
        try:
            name, role, digest = (
                str(entry["name"]).strip(),
                Role(entry.get("role", "member")),
                str(entry["password_hash"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(
                f"{path}: user #{i + 1} needs name, password_hash and a role among "
                f"{', '.join(r.value for r in Role)} ({exc})."
            ) from exc
        users[name] = (role, digest)
    return users


def remove_user(path: Path, name: str) -> Role | None:
    """Delete one user from the users file (``reffy user remove``); their role, or None if absent."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    entries = (raw or {}).get("users") or []
    gone = [e for e in entries if str(e.get("name", "")).strip() == name]
    if not gone:
        return None
    kept = [e for e in entries if e not in gone]
    path.write_text(yaml.safe_dump({"users": kept}, sort_keys=False), encoding="utf-8")
    return Role(gone[0].get("role", "member"))


def add_user(path: Path, name: str, password: str, role: Role) -> None:
    """Create or update one user in the users file (used by ``reffy user add``)."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    entries = [e for e in (raw or {}).get("users") or [] if e.get("name") != name]
    entries.append({"name": name, "role": role.value, "password_hash": hash_password(password)})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"users": entries}, sort_keys=False), encoding="utf-8")


def authenticate(settings: Settings, name: str, password: str) -> User | None:
    path = users_file(settings)
    if path is None:
        return LOCAL_USER
    entry = load_users(path).get(name.strip())
    if entry is None or not verify_password(entry[1], password):
        return None
    return User(name.strip(), entry[0])


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
