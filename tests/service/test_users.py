"""People and their access: `reffy user add/list/remove` (removing a user revokes their API
tokens too), and role refusals that name the fix for the kind of identity refused: an account
(users file, single sign-on) or an API token."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from reffy.api import create_app
from reffy.auth import Role, User, load_users
from reffy.cli import app
from reffy.errors import PermissionDenied
from reffy.service import ReffyService


def cli(*args: str, password: str | None = None):
    result = CliRunner().invoke(app, list(args), input=f"{password}\n{password}\n" if password else None)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_user_remove_deletes_the_user_and_revokes_their_tokens(home: Path, settings) -> None:
    cli("user", "add", "alice", "--role", "analyst", password="correct horse")
    cli("user", "add", "bob", "--role", "member", password="battery staple")
    svc = ReffyService(settings)
    kept = svc.create_token("bob", Role.member)
    tokens = [svc.create_token("alice", Role.analyst, label=label) for label in ("crm", "bot")]
    assert svc.authenticate("alice", "correct horse") == User("alice", Role.analyst)

    out = " ".join(cli("user", "remove", "alice").split())
    assert out == (
        f"Removed alice (analyst) from {home / 'users.yaml'}; revoked 2 API tokens "
        f"({', '.join(str(t['id']) for t in svc.list_tokens() if t['user'] == 'alice')})."
    )
    assert set(load_users(home / "users.yaml")) == {"bob"}
    assert "alice" not in cli("user", "list")
    assert svc.authenticate("alice", "correct horse") is None
    assert all(svc.token_user(t) is None for t in tokens) and svc.token_user(kept) == User("bob", Role.member)
    svc.close()


def test_removing_a_user_who_does_not_exist_says_how_to_see_who_does(home: Path) -> None:
    cli("user", "add", "bob", "--role", "member", password="battery staple")
    env = {**os.environ, "REFFY_HOME": str(home)}
    out = subprocess.run(
        [sys.executable, "-m", "reffy.cli", "user", "remove", "ghost"], env=env, capture_output=True, text=True
    )
    assert out.returncode == 3 and "Traceback" not in out.stderr
    assert f"No user 'ghost' in {home / 'users.yaml'}" in out.stderr and "reffy user list" in out.stderr
    assert set(load_users(home / "users.yaml")) == {"bob"}


def test_role_refusals_fit_token_holders_and_account_holders(settings) -> None:
    svc = ReffyService(settings)
    token = svc.create_token("crm-bot", Role.viewer)
    with pytest.raises(PermissionDenied) as by_token:
        svc.usage(svc.token_user(token))
    assert str(by_token.value) == (
        "crm-bot is a viewer: analytics needs the analyst role or higher. "
        "Ask an admin for an API token with the analyst role or higher."
    )
    with pytest.raises(PermissionDenied) as by_account:
        svc.usage(User("mo", Role.member))
    assert str(by_account.value) == (
        "mo is a member: analytics needs the analyst role or higher. "
        "Ask an admin to give your account the analyst role or higher."
    )
    for message in (str(by_token.value), str(by_account.value)):
        assert "users file" not in message
    with TestClient(create_app(svc)) as client:
        r = client.get("/v1/usage", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403 and "API token with the analyst role" in r.json()["error"]["message"]
    svc.close()
