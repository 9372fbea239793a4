"""`fairdue policy`: lint a contact policy file and show what it will do.

Entry point only: read the file, call the loader, print. Exit 0 and a summary when the
policy is valid; exit 1 and one `FILE:LINE:COL: message` line per problem when it is not;
exit 2 when the file cannot be read.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from fairdue.domain.policy import Policy

app = typer.Typer(help="Contact policies: lint a policy file, show its steps.", no_args_is_help=True)


@app.command("check")
def check(
    file: Annotated[str, typer.Argument(help="The policy file (YAML)")],
    protected: Annotated[
        list[str] | None,
        typer.Option("--protected", help="A further field no condition may read (S18); repeatable"),
    ] = None,
) -> None:
    """Lint a policy: exit 0 printing its version, name, steps and experiment when valid;
    exit 1 printing each problem as FILE:LINE:COL: message when not."""
    from fairdue.adapters.policy_file import PolicyFileError, load_policy

    try:
        text = Path(file).read_text(encoding="utf-8")
    except OSError as exc:
        typer.echo(f"error: cannot read {file}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from None
    except UnicodeDecodeError as exc:
        typer.echo(f"error: {file} is not UTF-8 text ({exc.reason})", err=True)
        raise typer.Exit(2) from None
    try:
        policy = load_policy(text, source=file, extra_protected=protected or ())
    except PolicyFileError as exc:
        for problem in exc.problems:
            typer.echo(f"{file}:{problem.line}:{problem.column}: {problem.message}")
        typer.echo(f"{len(exc.problems)} problem(s); the policy cannot be used", err=True)
        raise typer.Exit(1) from None
    for line in describe(policy):
        typer.echo(line)


def describe(policy: Policy) -> list[str]:
    """The summary `policy check` prints for a valid policy."""
    lines = [
        f"valid policy {policy.name}",
        f"version: {policy.version}",
        f"profile: {policy.profile}  locale: {policy.locale}",
    ]
    if policy.thresholds:
        lines.append("thresholds: " + ", ".join(f"{k}={v}" for k, v in policy.thresholds.items()))
    if policy.experiment is None:
        lines += _steps(policy, None)
        lines.append("experiment: none")
        return lines
    lines.append(f"experiment: {policy.experiment.name}")
    for variant in policy.experiment.variants:
        overrides = ", ".join(f"{k}={v}" for k, v in variant.thresholds.items())
        lines.append(f"  variant {variant.name}: {variant.share}%"
                     + (f"  thresholds {overrides}" if overrides else "")
                     + ("  (own steps)" if variant.own_steps else ""))
    for variant in policy.experiment.variants:
        lines.append(f"variant {variant.name}:")
        lines += ["  " + line for line in _steps(policy, variant.name)]
    return lines


def _steps(policy: Policy, variant: str | None) -> list[str]:
    steps = policy.steps_of(variant)
    lines = [f"steps ({len(steps)}):"]
    for number, step in enumerate(steps, 1):
        actions = ", ".join(
            action.kind + (f" {action.template}" if action.template else "")
            + (f" priority {action.priority}" if action.priority else "")
            for action in step.actions)
        more = "  then continue" if step.continue_ else ""
        lines.append(f"  {number}. {step.id}: when {step.when} -> {actions}{more}")
    return lines
