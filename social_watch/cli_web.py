"""`serve` (the web inbox) and `agents`, the logins it checks.

Passwords are read from stdin (``--password-stdin``) or prompted without echo; they never
come from an argument (shell history, ``ps``). Heavy imports stay inside the commands.
"""

from __future__ import annotations

import sys

import click

from social_watch.cli import App, Group, cli, echo_json, json_option, store_options
from social_watch.errors import UsageError


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise UsageError("--password-stdin: no password on standard input")
        return password
    if not sys.stdin.isatty():
        raise UsageError("no terminal to ask for the password: pass it with --password-stdin")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@cli.group(cls=Group)
def agents() -> None:
    """Web inbox logins: add, list, disable agents; set passwords; API tokens.

    \b
    Example:
        social-watch agents add jana --name "Jana Nováková" --signature "^JN"
        echo "$PASSWORD" | social-watch agents add lea --name "Lea Dvořák" --role lead --password-stdin
        social-watch agents list
    """


@agents.command(name="add")
@store_options
@json_option
@click.argument("agent_id")
@click.option("--name", required=True, help="Full name, shown to colleagues and signed.")
@click.option("--signature", default="", help='Appended to replies, e.g. "^JN".')
@click.option(
    "--role",
    type=click.Choice(["agent", "lead", "admin"]),
    default="agent",
    show_default=True,
    help="lead and admin also see the team page.",
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def agents_add(
    app: App,
    as_json: bool,
    agent_id: str,
    name: str,
    signature: str,
    role: str,
    password_stdin: bool,
) -> None:
    """Create a login for the web inbox (the password from stdin or a prompt, never an argument).

    \b
    Example:
        social-watch agents add jana --name "Jana Nováková" --signature "^JN"
    """
    from social_watch import accounts

    app.may_create = True
    accounts.check_id(agent_id)
    password = _read_password(password_stdin)
    account = accounts.add(
        app.db,
        agent_id,
        name=name,
        signature=signature,
        role=role,
        password=password,
        now=app.now(),
    )
    if as_json:
        echo_json(account.as_dict())
    else:
        click.echo(f"Added {account.role} {account.id} ({account.name}).")


@agents.command(name="list")
@store_options
@json_option
def agents_list(app: App, as_json: bool) -> None:
    """Every account, its role and whether it is disabled.

    \b
    Example:
        social-watch agents list --json
    """
    from social_watch import accounts
    from social_watch.untrusted import terminal

    rows = accounts.all_accounts(app.db)
    if as_json:
        echo_json([a.as_dict() for a in rows])
        return
    if not rows:
        click.echo("No agent accounts yet: `social-watch agents add ID --name NAME`.")
        return
    click.echo(
        click.style(f"{'ID':<16} {'ROLE':<6} {'STATE':<9} {'SIGNATURE':<10} NAME", bold=True)
    )
    for a in rows:
        state = "disabled" if a.disabled else "active"
        click.echo(terminal(f"{a.id:<16} {a.role:<6} {state:<9} {a.signature:<10} {a.name}"))


@agents.command(name="disable")
@store_options
@click.argument("agent_id")
def agents_disable(app: App, agent_id: str) -> None:
    """End the agent's sessions now and refuse their logins and API tokens.

    \b
    Example:
        social-watch agents disable petr
    """
    from social_watch import accounts

    accounts.disable(app.db, agent_id, now=app.now())
    click.echo(f"Disabled {agent_id}: their sessions ended and their API tokens are revoked.")


@agents.command(name="enable")
@store_options
@click.argument("agent_id")
def agents_enable(app: App, agent_id: str) -> None:
    """Let a disabled agent log in again.

    \b
    Example:
        social-watch agents enable petr
    """
    from social_watch import accounts

    accounts.enable(app.db, agent_id)
    click.echo(f"Enabled {agent_id}.")


@agents.command(name="set-password")
@store_options
@click.argument("agent_id")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def agents_set_password(app: App, agent_id: str, password_stdin: bool) -> None:
    """A new password; the agent's open sessions end.

    \b
    Example:
        social-watch agents set-password jana
    """
    from social_watch import accounts

    accounts.get(app.db, agent_id)
    accounts.set_password(app.db, agent_id, _read_password(password_stdin))
    click.echo(f"New password set for {agent_id}; their open sessions ended.")


@agents.command(name="token")
@store_options
@click.argument("agent_id")
def agents_token(app: App, agent_id: str) -> None:
    """Print a new API token (shown once, stored only as its hash) for scripts.

    \b
    Example:
        social-watch agents token jana
    """
    from social_watch import accounts

    click.echo(accounts.new_token(app.db, agent_id, now=app.now()))


@cli.command()
@store_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--proxy-headers",
    is_flag=True,
    help="Behind a TLS reverse proxy: trust its X-Forwarded-* headers (from "
    "$FORWARDED_ALLOW_IPS, default 127.0.0.1) and mark cookies Secure.",
)
def serve(app: App, host: str, port: int, proxy_headers: bool) -> None:
    """The team inbox in the browser, on the same database as `watch`.

    Agents log in with their own account (`agents add`). Binds to 127.0.0.1: to offer it
    to a team, put it behind a TLS reverse proxy and pass --proxy-headers. Sessions are
    signed with $SOCIAL_WATCH_SESSION_KEY (or the file in $SOCIAL_WATCH_SESSION_KEY_FILE);
    without one they end when `serve` restarts.

    \b
    Example:
        social-watch serve --db social-watch.db
        social-watch serve --host 127.0.0.1 --port 8080 --proxy-headers
    """
    import uvicorn

    from social_watch import accounts
    from social_watch.web.app import create_app

    db = app.db  # a missing file is a mistyped --db, not a new empty inbox
    web_app = create_app(app.db_path, app.config_path, secure_cookies=proxy_headers)
    if not accounts.all_accounts(db):
        click.echo(
            "No agent can log in yet: add one with "
            '`social-watch agents add ID --name "Full Name"`.',
            err=True,
        )
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it: without it a keep-alive response (headers and body
    # written apart) waits ~40 ms for the client's delayed ACK (Nagle), on every request.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except (socket.gaierror, UnicodeError):
        sock.close()
        raise UsageError(f"--host {host!r} is not an address this machine has") from None
    except OSError as exc:
        sock.close()
        raise UsageError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc} (pick another --port)"
        ) from None
    click.echo(f"social-watch inbox on http://{host}:{port}/ (Ctrl+C stops it)", err=True)
    config = uvicorn.Config(
        web_app,
        proxy_headers=proxy_headers,
        log_level="warning",
        timeout_graceful_shutdown=3,
    )
    uvicorn.Server(config).run(sockets=[sock])
