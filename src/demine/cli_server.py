"""`demine serve` and `demine users`: the server and its accounts."""

from __future__ import annotations

import getpass
import os
import socket
from typing import Annotated

import typer
from rich.table import Table

from demine.cli_common import DbOption, UserOption, console, errors, open_repo, user_of

users_app = typer.Typer(help="Accounts of the server: add, list, disable.", no_args_is_help=True)

PASSWORD_ENV = "DEMINE_NEW_PASSWORD"


def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option(
        help="address to bind; 127.0.0.1 keeps the server to this machine")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(help="server processes")] = 1,
    secret_file: Annotated[str | None, typer.Option(
        help="file holding the server secret; default $DEMINE_SECRET_FILE or "
             "$DEMINE_SECRET")] = None,
) -> None:
    """Serve the REST API, OGC API - Features and vector tiles over the record."""
    import uvicorn

    from demine.api.config import SECRET_ENV, load_secret

    with errors():
        secret = load_secret(secret_file)
        repo = open_repo(db, create=False)
        url = repo.url
        repo.close()
    # Workers are separate processes: they read the database and the secret from the
    # environment, so neither appears on a command line.
    os.environ["DEMINE_DB"] = url
    os.environ[SECRET_ENV] = secret
    console.print(f"demine serving {url.split('@')[-1]} on http://{host}:{port}/ "
                  f"(OpenAPI: /openapi.json, OGC API: /ogc)")
    config = uvicorn.Config("demine.api.app:app_from_environment", factory=True, host=host,
                            port=port, workers=workers, log_level="info", access_log=False,
                            # a worker imports the geospatial stack before it can answer
                            # the supervisor's ping; 5 s is not enough on a busy laptop
                            timeout_worker_healthcheck=60)
    sock = _tcp_socket(host, port)
    if workers > 1:
        from uvicorn.supervisors import Multiprocess

        Multiprocess(config, sockets=[sock]).run()
    else:
        uvicorn.Server(config).run(sockets=[sock])


def serve_demo(url: str, *, host: str, port: int) -> None:
    """Serve the demo district with a server secret made up for this run only: the
    demo's tokens die with the process, and no secret is written anywhere."""
    import secrets

    from demine.api.config import SECRET_ENV

    os.environ.setdefault(SECRET_ENV, secrets.token_urlsafe(48))
    console.print(f"[bold green]Open http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}"
                  f":{port}/ in a browser[/] and log in with an account above (Ctrl+C stops).")
    serve(db=url, host=host, port=port, workers=1, secret_file=None)


def _tcp_socket(host: str, port: int) -> socket.socket:
    """The listening socket, created with ``IPPROTO_TCP`` named explicitly.

    asyncio turns Nagle's algorithm off (TCP_NODELAY) only on sockets whose protocol is
    IPPROTO_TCP. uvicorn's own multi-worker socket leaves it 0, so every small response
    then waited for the client's delayed ACK, about 40 ms (uvicorn issue #3149).
    Accepted connections inherit the protocol from this socket.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise typer.BadParameter(f"cannot listen on {host}:{port}: {exc}") from exc
    sock.set_inheritable(True)
    return sock


def _password(password_stdin: bool) -> str:
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    if password_stdin:
        return typer.get_text_stream("stdin").readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise typer.BadParameter("the two passwords differ")
    return first


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="login name")],
    role: Annotated[str, typer.Option(
        help="admin, information_manager, operator_editor or viewer")] = "viewer",
    organisation: Annotated[str | None, typer.Option(
        help="organisation code (required for operator editors)")] = None,
    password_stdin: Annotated[bool, typer.Option(
        help=f"read the password from standard input (else ${PASSWORD_ENV}, else a prompt)"
    )] = False,
    db: DbOption = None,
    user: UserOption = None,
) -> None:
    """Add an account; the password never goes on the command line."""
    from demine.service import accounts

    with errors():
        repo = open_repo(db)
        accounts.add_user(repo, author=user_of(user), username=username,
                          password=_password(password_stdin), role=role,
                          organisation_code=organisation)
    console.print(f"user [bold]{username.strip().lower()}[/] added as {role}")


@users_app.command("list")
def users_list(db: DbOption = None) -> None:
    from demine.service import accounts

    with errors():
        lines = accounts.list_users(open_repo(db))
    table = Table(title="Users")
    for col in ("user", "role", "organisation", "state", "version"):
        table.add_column(col)
    for u in lines:
        table.add_row(u.username, u.role, u.organisation_code or "-",
                      "[red]disabled[/]" if u.disabled else "active", str(u.version))
    console.print(table)


@users_app.command("disable")
def users_disable(
    username: Annotated[str, typer.Argument(help="login name")],
    enable: Annotated[bool, typer.Option("--enable", help="enable it again instead")] = False,
    db: DbOption = None,
    user: UserOption = None,
) -> None:
    """Disable an account (its sessions end at once), or enable it again."""
    from demine.service import accounts

    with errors():
        accounts.set_disabled(open_repo(db), author=user_of(user), username=username,
                              disabled=not enable)
    console.print(f"user [bold]{username}[/] {'enabled' if enable else 'disabled'}")
