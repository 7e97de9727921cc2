"""`gridgov user …`: accounts and API tokens, from the command line (as admin)."""

import click

from geo.catalogue import pair, say
from layers import db, jurisdictions, users
from layers.access import ROLES, SYSTEM
from web.cli_common import database_url, friendly, line
from web.i18n import both, role_label

__all__ = ["user_group"]


@click.group("user")
def user_group():
    """Accounts and API tokens (用户与令牌)."""


def _role(role):
    """A role as (中文, code) for :func:`web.cli_common.line`."""
    return role_label(role), role


def _grid(grid):
    return (grid, grid) if grid else pair("everywhere")


def _staff(staff):
    return pair("cli_user_staff", staff=staff)


def _password(password):
    if password is None:
        password = click.prompt(both("password"), hide_input=True,
                                confirmation_prompt=True)
    return password


@user_group.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--grid", "grid", help="Root grid code of the user's jurisdiction "
              "(omit for the whole deployment).")
@click.option("--password", help="Omit to be asked; --no-password for a token-only "
              "account.")
@click.option("--no-password", is_flag=True, help="A token-only account.")
@click.option("--display-name")
@click.option("--staff", "staff", type=int, help="Id of the grid staff person this "
              "account is (their tasks and patrols on the phone).")
@friendly
def add(name, role, grid, password, no_password, display_name, staff):
    """Create the user NAME."""
    secret = None if no_password else _password(password)
    with db.connect(database_url()) as conn:
        users.add_user(conn, SYSTEM, name, role, grid, secret, display_name,
                       staff_id=staff)
    click.echo(line("cli_user_created", name=name, role=_role(role),
                    grid=_grid(grid),
                    staff=("", "") if staff is None else _staff(staff)))


@user_group.command("link")
@click.argument("name")
@click.option("--staff", "staff", type=int, help="Id of the grid staff person.")
@click.option("--unlink", is_flag=True, help="Remove the link instead.")
@friendly
def link(name, staff, unlink):
    """Link NAME to a grid staff person (--staff ID), or --unlink it. The user's
    phones (device tokens) are logged out."""
    if (staff is None) == (not unlink):
        raise click.UsageError(say("err_staff_or_unlink"))
    with db.connect(database_url()) as conn:
        users.link_staff(conn, SYSTEM, name, None if unlink else staff)
    click.echo(line("cli_user_unlinked", name=name) if unlink
               else line("cli_user_linked", name=name, staff=staff))


@user_group.command("access")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), help="The new role (omit to keep "
              "it).")
@click.option("--grid", "grid", help="Root grid code of the new jurisdiction (omit "
              "to keep it).")
@click.option("--everywhere", is_flag=True, help="The whole deployment instead of a "
              "grid.")
@friendly
def access(name, role, grid, everywhere):
    """Change NAME's role and/or jurisdiction (NAME's sessions and phones end).
    `gridgov user list` marks the accounts whose grid no longer exists."""
    if grid and everywhere:
        raise click.UsageError(say("err_grid_or_everywhere"))
    with db.connect(database_url()) as conn:
        user = users.get_user(conn, name)
        role = role or user["role"]
        grid = None if everywhere else (grid or user["grid_code"])
        changed = users.set_access(conn, SYSTEM, name, role, grid)
    click.echo(line("cli_user_access" if changed else "cli_user_access_same",
                    name=name, role=_role(role), grid=_grid(grid)))


@user_group.command("passwd")
@click.argument("name")
@click.option("--password", help="Omit to be asked.")
@friendly
def passwd(name, password):
    """Set NAME's password (NAME's sessions and phones end; API tokens for
    scripts stay)."""
    with db.connect(database_url()) as conn:
        users.set_password(conn, SYSTEM, name, _password(password))
    click.echo(line("cli_password_changed", name=name))


@user_group.command("disable")
@click.argument("name")
@friendly
def disable(name):
    """Disable NAME (sessions and tokens stop working at once)."""
    with db.connect(database_url()) as conn:
        users.set_active(conn, SYSTEM, name, False)
    click.echo(line("cli_user_disabled", name=name))


@user_group.command("enable")
@click.argument("name")
@friendly
def enable(name):
    """Enable NAME again."""
    with db.connect(database_url()) as conn:
        users.set_active(conn, SYSTEM, name, True)
    click.echo(line("cli_user_enabled", name=name))


@user_group.command("unlock")
@click.argument("name")
@friendly
def unlock(name):
    """Unlock NAME after too many failed logins (its failures so far are
    forgotten, for every address)."""
    with db.connect(database_url()) as conn:
        users.unlock(conn, SYSTEM, name)
    click.echo(line("cli_user_unlocked", name=name))


@user_group.command("token")
@click.argument("name")
@click.option("--label", default="token", show_default=True,
              help="What the token is for (a device, a script).")
@friendly
def token(name, label):
    """Create an API token for NAME; the token is the last word printed."""
    with db.connect(database_url()) as conn:
        value = users.create_token(conn, SYSTEM, name, label)
    # the token alone on the last line (scripts take the last word)
    click.echo(line("cli_token_for", name=name) + "：")
    click.echo(value)


@user_group.command("revoke")
@click.argument("token_id", type=int)
@friendly
def revoke(token_id):
    """Revoke the API token TOKEN_ID."""
    with db.connect(database_url()) as conn:
        users.revoke_token(conn, SYSTEM, token_id)
    click.echo(line("cli_token_revoked", id=token_id))


@user_group.command("list")
@friendly
def list_users():
    """List the users; an account whose grid no longer exists (merged away) is
    marked, with what its grid became: reassign it with `gridgov user access`."""
    with db.connect(database_url()) as conn:
        found = users.list_users(conn, SYSTEM)
        orphaned = {o["username"]: o for o in jurisdictions.orphaned(conn, SYSTEM)}
    for u in found:
        state = ("" if u["active"] else f" ({both('disabled')})") + (
            f" ({both('locked')})" if u["locked"] else "")
        if u["username"] in orphaned:
            now = [g["code"] for g in orphaned[u["username"]]["now"]]
            state += " " + line("cli_grid_gone", now=pair(
                "cli_grid_now_in", codes=", ".join(now)) if now else ("", ""))
        click.echo(f"{u['username']}\t{u['role']}\t{u['grid_code'] or '*'}{state}")
