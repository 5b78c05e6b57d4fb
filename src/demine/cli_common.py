"""What every `demine` command shares: where the database is, who signs, how errors read.

Kept apart from ``demine.cli`` so that the command modules (field operations, import,
export) can use it without importing ``demine.cli``, which imports them to register
their commands and runs as ``__main__`` under ``python -m demine.cli``.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from demine.domain.errors import DemineError
from demine.store import Repository

console = Console()
err = Console(stderr=True)

DbOption = Annotated[str | None, typer.Option(
    "--db", help="SQLite file or PostgreSQL URL; default $DEMINE_DB, else ./demine.sqlite")]
UserOption = Annotated[str | None, typer.Option(
    "--user", help="who signs this change; default $DEMINE_USER, else the login name")]


def user_of(user: str | None) -> str:
    """``--user``, else ``DEMINE_USER``, else the login name: the audit always says who."""
    return user or os.environ.get("DEMINE_USER") or getpass.getuser()


@contextmanager
def errors() -> Iterator[None]:
    """Turn demine's own errors into one readable line and exit status 1."""
    try:
        yield
    except DemineError as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(1) from exc


def open_repo(db: str | None, create: bool = False) -> Repository:
    return Repository.open(db, create=create)


def m2(value: float) -> str:
    return f"{value:,.0f}"


@contextmanager
def progress_bar() -> Iterator[Callable[[str, int, int], None]]:
    """A ``progress(stage, done, total)`` callback drawing one bar per stage.

    Services report progress through such a callback and never print; the doors
    decide how it looks (a bar here, a message stream in the API later).
    """
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield progress
