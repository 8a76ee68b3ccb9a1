"""Background jobs of a serving process: the timer sweep, fired by indexed due time."""

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

log = logging.getLogger(__name__)

TIMER_SWEEP = "timer-sweep"


def sweep_due_timers(app: Flask) -> int:
    """Advance every case whose timers are due now."""
    with app.app_context():
        fired = app.extensions["suishoupai.casework"].fire_due_timers(
            app.extensions["suishoupai.db"]
        )
    if fired:
        log.info("timer sweep advanced cases", extra={"cases": fired})
    return fired


def start_scheduler(app: Flask) -> BackgroundScheduler | None:
    """Start the jobs once per process, when the settings ask for them."""
    settings = app.extensions["suishoupai.settings"]
    if not settings.scheduler or "suishoupai.scheduler" in app.extensions:
        return app.extensions.get("suishoupai.scheduler")
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(
        sweep_due_timers,
        "interval",
        seconds=settings.sweep_seconds,
        args=[app],
        id=TIMER_SWEEP,
        max_instances=1,
        coalesce=True,
        replace_existing=True,
    )
    scheduler.start()
    app.extensions["suishoupai.scheduler"] = scheduler
    log.info("scheduler started", extra={"sweep_seconds": settings.sweep_seconds})
    return scheduler
