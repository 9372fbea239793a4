"""`fairdue template check`: load and check message templates as the worker would.

Entry point only: read the settings, call the template loader, print one line per template
(language, name, channel, SMS segments per profile, verdict) and each refused template's
reasons. Exit 0 when every template passes, 1 when any is refused, 2 when the folder or a
file cannot be found or a setting is wrong.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated

import typer

from fairdue.cli.main import app
from fairdue.errors import FairdueError

if TYPE_CHECKING:
    from fairdue.adapters.templates import TemplateCheck

template_app = typer.Typer(help="Message templates: check them before they are used.",
                           no_args_is_help=True)
app.add_typer(template_app, name="template")


@template_app.command("check")
def check(
    files: Annotated[list[str] | None, typer.Argument(
        help="Template files to check alone (DIR/<language>/<name>.j2); default: the whole folder")
    ] = None,
    directory: Annotated[str | None, typer.Option(
        "--dir", help="Templates folder (default FAIRDUE_TEMPLATE_DIR, else the built-in set)")] = None,
    profiles: Annotated[list[str] | None, typer.Option(
        "--profile", help="Check for this compliance profile (repeatable; default FAIRDUE_PROFILE)")
    ] = None,
    max_segments: Annotated[int | None, typer.Option(
        "--max-segments", help="Longest SMS allowed, in segments (default FAIRDUE_SMS_MAX_SEGMENTS)")
    ] = None,
) -> None:
    """Check message templates: one line each with channel, language, segments and verdict;
    exit 1 when any is refused."""
    try:
        from fairdue.adapters.templates import TemplateOptions, check_template_file, load_templates
        from fairdue.settings import load_settings

        settings = load_settings(dict(os.environ))
        options = TemplateOptions.from_settings(settings, profiles=profiles,
                                                max_sms_segments=max_segments)
        if files:
            checks = [check_template_file(file, options) for file in files]
            missing: list[str] = []
        else:
            template_set = load_templates(directory or settings.template_dir, options)
            checks = list(template_set.checks)
            languages = sorted({c.language for c in checks})
            missing = [f"note: {name} has no {lang} version; {lang} borrowers get "
                       f"{template_set.default_language}"
                       for name in template_set.names for lang in languages
                       if lang not in template_set.languages_of(name)]
    except FairdueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    for line in describe(checks) + missing:
        typer.echo(line)
    refused = sum(not c.ok for c in checks)
    typer.echo(f"{len(checks)} template(s) checked for {', '.join(options.profiles)}, "
               f"{refused} refused", err=True)
    if refused:
        raise typer.Exit(1)


def describe(checks: list[TemplateCheck]) -> list[str]:
    """One aligned line per template, each refused one followed by its reasons."""
    lines: list[str] = []
    width = max((len(c.name) for c in checks), default=0)
    for c in sorted(checks, key=lambda c: (c.name, c.language)):
        channel = c.channel.value if c.channel else "?"
        verdict = "ok" if c.ok else "REFUSED"
        lines.append(f"{c.name:<{width}}  {c.language:<5}  {channel:<5}  "
                     f"segments {c.describe_segments():<14}  {verdict}")
        lines += [f"  {c.source}: {problem}" for problem in c.problems]
    return lines
