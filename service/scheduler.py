"""Background jobs of a serving process: the sweep, by indexed due times."""

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

log = logging.getLogger(__name__)

SWEEP = "sweep"


def sweep(app: Flask) -> int:
    """Fire due timers, escalate cases past their deadlines, send notifications."""
    with app.app_context():
        advanced = app.extensions["suishoupai.sweeps"].run()
        app.extensions["suishoupai.outbox"].deliver()
    if advanced:
        log.info("sweep advanced cases", extra={"cases": advanced})
    return advanced


def start_scheduler(app: Flask) -> BackgroundScheduler | None:
    """Start the jobs once per process, when the settings ask for them."""
    settings = app.extensions["suishoupai.settings"]
    if not settings.scheduler or "suishoupai.scheduler" in app.extensions:
        return app.extensions.get("suishoupai.scheduler")
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(
        sweep,
        "interval",
        seconds=settings.sweep_seconds,
        args=[app],
        id=SWEEP,
        max_instances=1,
        coalesce=True,
        replace_existing=True,
    )
    scheduler.start()
    app.extensions["suishoupai.scheduler"] = scheduler
    log.info("scheduler started", extra={"sweep_seconds": settings.sweep_seconds})
    return scheduler


def stop_scheduler(app: Flask) -> None:
    """Stop the jobs before the process goes, so none is handed to a dead executor."""
    scheduler = app.extensions.pop("suishoupai.scheduler", None)
    if scheduler is not None and scheduler.running:
        scheduler.shutdown(wait=False)
        log.info("scheduler stopped")
