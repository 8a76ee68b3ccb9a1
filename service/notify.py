"""Delivering the outbox: notifications go out through a pluggable sender, retried.

Notifications are written in the transaction that raised them; a sweep sends them
afterwards, so a slow or failing receiver never holds up or undoes a case change.
"""

import logging
from datetime import datetime, timedelta

import requests
from sqlalchemy import select
from tenacity import (
    retry,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from models import Notification
from service.database import Database
from service.settings import Settings
from workflows.clock import clock

log = logging.getLogger(__name__)

FIRST_RETRY = timedelta(seconds=30)
LAST_RETRY = timedelta(hours=1)
BATCH = 100


class DeliveryFailed(Exception):
    """The receiver did not take the notification; it is tried again later."""


class LogSender:
    """Writes each notification to the service log; the default."""

    def send(self, notification: Notification) -> None:
        log.info(
            "notification",
            extra={
                "kind": notification.kind,
                "recipient": notification.recipient,
                "payload": notification.payload,
            },
        )


class WebhookSender:
    """POSTs each notification as JSON to one URL; 2xx means delivered."""

    def __init__(self, url: str, timeout: float = 5.0):
        self.url = url
        self.timeout = timeout

    @retry(
        retry=retry_if_exception_type(DeliveryFailed),
        stop=stop_after_attempt(3),
        wait=wait_exponential(multiplier=0.2, max=2),
        reraise=True,
    )
    def send(self, notification: Notification) -> None:
        body = {
            "id": notification.id,
            "kind": notification.kind,
            "recipient": notification.recipient,
            "created_at": notification.created_at.isoformat(),
            **notification.payload,
        }
        try:
            response = requests.post(self.url, json=body, timeout=self.timeout)
        except requests.RequestException as error:
            raise DeliveryFailed(f"{type(error).__name__}: {error}") from error
        if response.status_code >= 300:
            raise DeliveryFailed(f"the receiver answered {response.status_code}")


class RoutingSender:
    """Partners' notifications to each partner's own URL; the rest to the default."""

    def __init__(self, default, partners: dict):
        self.default = default
        self.partners = partners

    def send(self, notification: Notification) -> None:
        kind, _, code = notification.recipient.partition(":")
        if kind == "partner" and code in self.partners:
            self.partners[code].send(notification)
        else:
            self.default.send(notification)


def make_sender(settings: Settings):
    default = (
        WebhookSender(settings.notify_webhook_url)
        if settings.notify_sender == "webhook"
        else LogSender()
    )
    partners = {
        code: WebhookSender(url) for code, url in settings.partner_url_map.items()
    }
    return RoutingSender(default, partners) if partners else default


class Outbox:
    def __init__(self, db: Database, sender, max_attempts: int):
        self.db = db
        self.sender = sender
        self.max_attempts = max_attempts

    def deliver(self, now: datetime | None = None) -> int:
        """Send what is due; a failure waits longer each time, then gives up."""
        now = now or clock.now()
        with self.db.transaction() as session:
            due = session.scalars(
                select(Notification.id)
                .where(
                    Notification.delivered_at.is_(None),
                    Notification.next_attempt_at <= now,
                )
                .order_by(Notification.id)
                .limit(BATCH)
            ).all()
        delivered = 0
        for notification_id in due:
            with self.db.transaction() as session:
                notification = session.scalar(
                    select(Notification)
                    .where(
                        Notification.id == notification_id,
                        Notification.delivered_at.is_(None),
                    )
                    .with_for_update(skip_locked=True)
                )
                if notification is not None and self._send(notification, now):
                    delivered += 1
        return delivered

    def _send(self, notification: Notification, now: datetime) -> bool:
        notification.attempts += 1
        try:
            self.sender.send(notification)
        except DeliveryFailed as error:
            notification.last_error = str(error)
            if notification.attempts >= self.max_attempts:
                notification.next_attempt_at = None
                log.error(
                    "notification given up",
                    extra={"notification": notification.id, "error": str(error)},
                )
            else:
                wait = min(FIRST_RETRY * 2 ** (notification.attempts - 1), LAST_RETRY)
                notification.next_attempt_at = now + wait
                log.warning(
                    "notification not delivered, will retry",
                    extra={"notification": notification.id, "error": str(error)},
                )
            return False
        notification.delivered_at = now
        notification.next_attempt_at = None
        return True
