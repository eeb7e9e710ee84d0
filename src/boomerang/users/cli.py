"""``boomerang users`` and ``boomerang tokens``."""

from __future__ import annotations

from typing import Annotated

import typer

from boomerang.cli_support import (
    console,
    domain_app,
    friendly_errors,
    read_secret_from_stdin,
    runtime,
)
from boomerang.errors import NotFound

# The service (SQLAlchemy, Argon2) and Rich are imported by the commands that use them, so
# that `boomerang users --help` and `boomerang tokens --help` start without them.

app = domain_app(help="Staff users: create and list.")
tokens_app = domain_app(help="REST API tokens: create, list, revoke.")


@app.command("create")
@friendly_errors
def create_user(
    email: Annotated[str, typer.Option(help="The user's email, used to log in.")],
    role: Annotated[str, typer.Option(help="admin, manager, csm or viewer.")] = "csm",
    name: Annotated[
        str | None, typer.Option(help="Display name (default: from the email).")
    ] = None,
    team: Annotated[str | None, typer.Option(help="Team, for managers' filters.")] = None,
) -> None:
    """Create a staff user; the password is read from stdin when piped, else generated."""
    from boomerang.security import generate_password
    from boomerang.users import service as users_service

    parsed_role = users_service.parse_role(role)
    supplied = read_secret_from_stdin()
    password = supplied or generate_password()
    with runtime.transaction() as session:
        user = users_service.create(
            session=session, email=email, name=name, role=parsed_role, password=password, team=team
        )
        console.print(f"created {user.role.value} [bold]{user.email}[/bold] ({user.id})")
    if supplied is None:
        console.print(f"password: {password}", highlight=False)


@app.command("list")
@friendly_errors
def list_users() -> None:
    """List staff users."""
    from rich.table import Table

    from boomerang.users import service as users_service

    with runtime.read() as session:
        table = Table("email", "name", "role", "team", "active")
        for user in users_service.list_users(session=session):
            table.add_row(user.email, user.name, user.role.value, user.team or "", str(user.active))
    console.print(table)


@tokens_app.command("create")
@friendly_errors
def create_token(
    user: Annotated[str, typer.Option(help="Email of the user the token acts as.")],
    name: Annotated[str, typer.Option(help="What the token is for.")],
) -> None:
    """Create a REST API token and print it once (only its hash is kept)."""
    from boomerang.users import service as users_service

    with runtime.transaction() as session:
        owner = users_service.get_by_email(session=session, email=user)
        if owner is None:
            raise NotFound(f"no user with email {user}")
        token, secret = users_service.create_token(session=session, user=owner, name=name)
        token_id = token.id
    console.print(f"token {token_id} for {user} (shown once, keep it safe):", highlight=False)
    print(secret)


@tokens_app.command("list")
@friendly_errors
def list_tokens(user: Annotated[str, typer.Option(help="Email of the user.")]) -> None:
    """List a user's tokens (never their secrets)."""
    from rich.table import Table

    from boomerang.users import service as users_service

    with runtime.read() as session:
        owner = users_service.get_by_email(session=session, email=user)
        if owner is None:
            raise NotFound(f"no user with email {user}")
        table = Table("id", "name", "prefix", "created", "last used", "revoked")
        for t in users_service.list_tokens(session=session, user=owner):
            table.add_row(
                t.id,
                t.name,
                t.prefix + "…",
                f"{t.created_at:%Y-%m-%d}",
                f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "",
                f"{t.revoked_at:%Y-%m-%d}" if t.revoked_at else "",
            )
    console.print(table)


@tokens_app.command("revoke")
@friendly_errors
def revoke_token(token_id: Annotated[str, typer.Argument(help="The token id (tok_...).")]) -> None:
    """Revoke a token; requests using it get 401 from now on."""
    from boomerang.users import service as users_service

    with runtime.transaction() as session:
        users_service.revoke_token(session=session, token_id=token_id)
    console.print(f"revoked {token_id}")
