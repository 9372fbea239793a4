"""`fairdue compliance`: replay a contact history through a profile; screen a message text.

Entry points only: parse the arguments, call the replay service or the text check, print.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TextIO

import typer

from fairdue.domain.compliance import check_text, get_profile
from fairdue.errors import FairdueError
from fairdue.services.compliance_replay import replay_text
from fairdue.services.compliance_replay_parallel import replay_text_parallel

app = typer.Typer(
    help="Compliance guard: replay a contact history through a profile, screen message text.",
    no_args_is_help=True,
)


@contextmanager
def _opened(file: str) -> Iterator[TextIO]:
    if file == "-":
        yield sys.stdin
        return
    path = Path(file)
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        typer.echo(f"error: cannot read {file}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from None
    with handle:
        yield handle


#: From this size on, a file is replayed over two processes when a second core is free.
PARALLEL_FROM_BYTES = 16 * 1024 * 1024


def _auto_workers(file: str) -> int:
    """Two processes for a large file when the machine has a core to spare (by the 1-minute
    load average): a second process costs about a fifth more CPU in all, and pays only when
    it gets a core of its own."""
    if file == "-" or Path(file).stat().st_size < PARALLEL_FROM_BYTES:
        return 1
    cores = os.cpu_count() or 1
    return 2 if cores >= 2 and os.getloadavg()[0] <= cores - 1 else 1


@app.command("replay")
def replay(
    file: Annotated[str, typer.Argument(help="JSON-lines history, or - for standard input")],
    profile: Annotated[
        str, typer.Option("--profile", "-p", help="Compliance profile: cn or us-regf")
    ] = "cn",
    workers: Annotated[
        int, typer.Option(
            "--workers", "-w", min=0,
            help="Processes that judge (the debtors split between them; a file only): "
                 "1, 2, ...; 0 picks 2 for a file of 16 MiB or more when a core is free",
        ),
    ] = 0,
) -> None:
    """Judge every attempt of a history in order; print one JSON line per attempt:
    {"index": line number from 0, "allowed": true/false, "rules": [rule ids that refused]}."""
    try:
        chosen = get_profile(profile)
    except FairdueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    out = sys.stdout
    with _opened(file) as handle:
        if workers == 0:
            workers = _auto_workers(file)
        if workers > 1 and file != "-":
            chunks = replay_text_parallel(Path(file), chosen, workers)
        else:
            chunks = replay_text(handle, chosen)
        try:
            for chunk in chunks:
                out.write(chunk)
        except FairdueError as exc:
            out.flush()
            typer.echo(f"error: {file}: {exc}", err=True)
            raise typer.Exit(2) from None
        except UnicodeDecodeError as exc:
            out.flush()
            typer.echo(f"error: {file} is not UTF-8 text ({exc.reason})", err=True)
            raise typer.Exit(2) from None
    out.flush()


@app.command("check-text")
def check_text_command(
    text: Annotated[str, typer.Argument(help="The message to screen")],
    lang: Annotated[
        str, typer.Option("--lang", help="Language of the message: zh-CN or en")
    ] = "zh-CN",
) -> None:
    """Screen a message for prohibited content; exit 0 when clean, 1 when not (printing each
    category found with the phrases that matched)."""
    try:
        findings = check_text(text, lang)
    except FairdueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if not findings:
        typer.echo("clean: no prohibited content found")
        return
    for finding in findings:
        typer.echo(f"{finding.category.value}: {', '.join(finding.phrases)}")
    raise typer.Exit(1)
