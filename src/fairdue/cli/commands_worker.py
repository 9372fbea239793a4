"""`fairdue worker`: dispatch what is due in the outbox (docs/strategy.md, docs/channels.md)."""

from __future__ import annotations

import signal
import time
from datetime import UTC
from types import FrameType
from typing import Annotated

import typer

from fairdue.cli.main import DbOption, app, console, opened, parse_moment


@app.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="Send everything due now, then exit")] = False,
    now: Annotated[str | None, typer.Option(
        "--now", help="The clock the worker and its compliance checks see, ISO 8601 with offset")] = None,
    batch: Annotated[int, typer.Option("--batch", min=1, max=5000, help="Messages per batch")] = 200,
    poll: Annotated[float, typer.Option("--poll", min=0.1, help="Seconds between looks when idle")] = 2.0,
    db: DbOption = None,
) -> None:
    """Claim due messages, re-check the guard, render, send with an idempotency key and
    record the result; several workers share the work on PostgreSQL."""
    from fairdue.adapters.channels import sender_for
    from fairdue.clock import FixedClock
    from fairdue.services.dispatch import Dispatcher

    moment = parse_moment(now, "--now") if now is not None else None
    stop = False

    def _stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stop
        stop = True

    with opened(db) as application:
        if moment is not None:
            application.clock = FixedClock(moment.astimezone(UTC))
        settings = application.settings
        senders = {
            "sms": sender_for(settings.sms_url, rate_per_second=settings.sms_rate),
            "email": sender_for(settings.email_url, rate_per_second=settings.email_rate),
            "push": sender_for(settings.push_url, rate_per_second=settings.push_rate),
        }
        dispatcher = Dispatcher(application, senders, application.templates,
                                batch_size=batch, max_attempts=settings.max_send_attempts)
        signal.signal(signal.SIGTERM, _stop)
        try:
            while True:
                report = dispatcher.run_once()
                if report.claimed or once:
                    console.print(
                        f"dispatched {report.claimed}: sent {report.sent}, retrying "
                        f"{report.retrying}, failed {report.failed}, dead {report.dead}, "
                        f"unknown {report.unknown}, blocked {report.blocked}, rescheduled "
                        f"{report.rescheduled}, cancelled {report.cancelled}")
                if once or stop:
                    return
                time.sleep(poll)
        except KeyboardInterrupt:
            return
        finally:
            dispatcher.close()
            for sender in senders.values():
                sender.close()
