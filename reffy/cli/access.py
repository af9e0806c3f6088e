"""Who may use a shared installation: app users and API tokens."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from reffy.cli.common import HomeOpt, _console, _role, _service, app
from reffy.wording import plural, sentence

user_app = typer.Typer(help="App users of a shared installation (REFFY_HOME/users.yaml).", no_args_is_help=True)
app.add_typer(user_app, name="user")


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[
        str, typer.Option("--role", help="viewer (external audience only), member, analyst or admin.")
    ] = "member",
    home: HomeOpt = None,
) -> None:
    """Create a user or reset their password and role (asks for the password)."""
    from reffy.auth import add_user, users_file

    parsed = _role(role)
    settings = _service(home).settings
    path = users_file(settings) or settings.home / "users.yaml"
    password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    add_user(path, name, password, parsed)
    _console().print(f"{name} ({parsed.value}) saved in {path}. The app now asks everyone to log in.")


@user_app.command("remove")
def user_remove(
    name: Annotated[str, typer.Argument(help="Login name (as `reffy user list` shows it).")], home: HomeOpt = None
) -> None:
    """Remove a user from the users file and revoke every API token issued to them."""
    done = _service(home).remove_user(name)
    parts = [f"removed {done['name']} ({done['role']}) from {done['users_file']}"] if done["role"] else []
    if done["tokens_revoked"]:
        parts.append(
            f"revoked {plural(len(done['tokens_revoked']), 'API token')} "
            f"({', '.join(str(i) for i in done['tokens_revoked'])})"
        )
    message = sentence("; ".join(parts))
    typer.echo(message[0].upper() + message[1:])


@user_app.command("list")
def user_list(home: HomeOpt = None) -> None:
    """List users and roles (never passwords)."""
    from reffy.auth import load_users, users_file

    path = users_file(_service(home).settings)
    if path is None:
        _console().print("Single-user mode: no users file. Add one with `reffy user add NAME --role admin`.")
        return
    for name, (role, _) in sorted(load_users(path).items()):
        typer.echo(f"{name}\t{role.value}")


token_app = typer.Typer(help="API tokens for `reffy serve` and `reffy mcp` (stored hashed).", no_args_is_help=True)
app.add_typer(token_app, name="token")


@token_app.command("add")
def token_add(
    user: Annotated[str, typer.Argument(help="Who the token acts as.")],
    role: Annotated[str, typer.Option("--role", help="viewer (public stories only), member, analyst or admin.")],
    label: Annotated[str, typer.Option("--label", help="What the token is for (e.g. the CRM).")] = "",
    home: HomeOpt = None,
) -> None:
    """Create a token; it is printed once, only its hash is kept."""
    role_ = _role(role)
    token = _service(home).create_token(user, role_, label=label)
    typer.echo(token)
    typer.secho(f"Token for {user} ({role_.value}). Store it now: it cannot be shown again.", err=True)


@token_app.command("list")
def token_list(
    home: HomeOpt = None, as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False
) -> None:
    """List tokens (never their values)."""
    rows = _service(home).list_tokens()
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    for r in rows:
        state = "revoked" if r.get("revoked") else f"last used {r.get('last_used') or 'never'}"
        typer.echo(
            f"{r['id']:>4}  {r['user']} ({r['role']})  {r.get('label') or '-'}  created {r['created_at']}, {state}"
        )
    if not rows:
        typer.echo("No API tokens: the API runs every request as the local user.")


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(help="The id from `reffy token list`.")], home: HomeOpt = None
) -> None:
    """Revoke a token; requests using it get 401 at once."""
    if not _service(home).revoke_token(token_id):
        typer.secho(f"No active token with id {token_id}.", err=True, fg=typer.colors.RED)
        raise typer.Exit(3)
    typer.echo(f"Token {token_id} revoked.")
