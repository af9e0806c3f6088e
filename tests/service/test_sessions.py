"""App sessions (reffy.sessions through the service): a login gives a token that signs the same
person in again until it expires or they log out; the store keeps only its hash; the users file
still decides who may act and with which role. The browser side (the cookie) is in
tests/adapters/test_browser.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reffy.auth import Role, User, add_user, hash_token
from reffy.config import load_settings
from reffy.history import HistoryStore
from reffy.service import ReffyService
from reffy.sessions import SessionStore


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def svc(home: Path):
    add_user(home / "users.yaml", "ana", "analyst-pass-1", Role.analyst)
    add_user(home / "users.yaml", "mo", "member-pass-1", Role.member)
    service = ReffyService(load_settings(home=home, session_hours=8))
    yield service
    service.close()


def test_a_login_starts_a_session_that_signs_the_same_person_in_until_logout(svc: ReffyService, home: Path) -> None:
    assert svc.log_in("ana", "wrong password") is None
    login = svc.log_in("ana", "analyst-pass-1")
    assert login.user == User("ana", Role.analyst)
    assert 8 * 3600 - 5 <= login.max_age_s <= 8 * 3600  # REFFY_SESSION_HOURS=8
    assert svc.session_user(login.token) == User("ana", Role.analyst)
    other = svc.log_in("ana", "analyst-pass-1")  # a second browser: its own session
    assert other.token != login.token

    assert svc.log_out(login.token) is True
    assert svc.session_user(login.token) is None  # the old cookie is refused
    assert svc.log_out(login.token) is False
    assert svc.session_user(other.token) == User("ana", Role.analyst)  # the other browser stays in

    rows = svc.history._rows("SELECT * FROM sessions")
    assert {r["token_hash"] for r in rows} == {hash_token(login.token), hash_token(other.token)}
    raw = (home / "history.sqlite").read_bytes()
    assert login.token.encode() not in raw and other.token.encode() not in raw  # only hashes are stored


def test_a_session_expires_after_its_lifetime(tmp_path: Path) -> None:
    clock = Clock()
    store = SessionStore(HistoryStore(tmp_path / "history.sqlite", clock=clock))
    token, session = store.create("mo", "member", hours=12)
    assert datetime.fromisoformat(session.expires_at) - datetime.fromisoformat(session.created_at) == timedelta(
        hours=12
    )
    clock.now += timedelta(hours=11, minutes=59)
    assert store.resolve(token).user == "mo"
    assert session.seconds_left(clock.now) == 60
    clock.now += timedelta(minutes=1)
    assert store.resolve(token) is None
    assert store.live() == []


@pytest.mark.parametrize("token", [None, "", "reffy_s_not-a-session", "x" * 10_000, "reffy_" + "a" * 43])
def test_tokens_that_were_never_issued_sign_nobody_in(tmp_path: Path, token) -> None:
    store = SessionStore(HistoryStore(tmp_path / "history.sqlite"))
    store.create("mo", "member", hours=1)
    assert store.resolve(token) is None and store.revoke(token) is False


def test_the_users_file_still_decides_who_and_with_which_role(svc: ReffyService, home: Path) -> None:
    ana = svc.log_in("ana", "analyst-pass-1")
    mo = svc.log_in("mo", "member-pass-1")
    add_user(home / "users.yaml", "ana", "analyst-pass-1", Role.viewer)  # demoted while signed in
    assert svc.session_user(ana.token) == User("ana", Role.viewer)

    svc.remove_user("mo")  # removed: signed out everywhere, at once
    assert svc.session_user(mo.token) is None
    assert svc.sessions.live("mo") == []
    assert [s.user for s in svc.sessions.live()] == ["ana"]


def test_each_library_has_its_own_cookie_name(tmp_path: Path) -> None:
    first = ReffyService(load_settings(home=tmp_path / "a"))
    second = ReffyService(load_settings(home=tmp_path / "b"))
    assert first.session_cookie != second.session_cookie
    assert first.session_cookie.startswith("reffy_session_")
    assert first.session_cookie == ReffyService(load_settings(home=tmp_path / "a")).session_cookie


def test_the_session_lifetime_is_a_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("REFFY_SESSION_HOURS", "36")
    assert load_settings(home=tmp_path).session_hours == 36
    monkeypatch.setenv("REFFY_SESSION_HOURS", "0")
    from reffy.errors import ConfigError

    with pytest.raises(ConfigError, match="REFFY_SESSION_HOURS"):
        load_settings(home=tmp_path)
