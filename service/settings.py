"""Every setting of the service, read once from SUISHOUPAI_* variables."""

import math
import os
from dataclasses import dataclass, field, fields
from datetime import time
from pathlib import Path

from workflows.errors import SuishoupaiError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(SuishoupaiError):
    """A SUISHOUPAI_* variable has a value the service cannot use."""


def _flag(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected 1/0, true/false, yes/no or on/off")


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError("expected a positive whole number")
    return value


def _clock_time(raw: str) -> time:
    try:
        moment = time.fromisoformat(raw.strip())
    except ValueError as error:
        raise ValueError("expected a time of day like 09:00") from error
    if moment.tzinfo is not None:
        raise ValueError("expected a time of day like 09:00, on the district's clock")
    return moment


def _sender(raw: str) -> str:
    if raw not in ("log", "webhook"):
        raise ValueError("expected log or webhook")
    return raw


def _secret(raw: str) -> str:
    if len(raw) < 32:
        raise ValueError("expected at least 32 characters of random text")
    return raw


def _partner_urls(raw: str) -> str:
    from service.partners import PARTNERS

    for pair in filter(None, (p.strip() for p in raw.split(","))):
        code, _, url = pair.partition("=")
        if not code.strip() or not url.strip().startswith(("http://", "https://")):
            raise ValueError("expected code=http://...,code=https://...")
        if code.strip() not in PARTNERS:
            raise ValueError(
                f"{code.strip()!r} is no partner platform: one of {', '.join(PARTNERS)}"
            )
    return raw


# Larger numbers of seconds, metres or hours than any setting needs, and which
# timers and calendars cannot count to.
LARGEST_NUMBER = 1e9
LARGEST_FACTOR = 100.0


def _positive_float(raw: str, largest: float = LARGEST_NUMBER) -> float:
    value = float(raw)
    if not math.isfinite(value) or not 0 < value <= largest:
        raise ValueError(f"expected a positive number up to {largest:g}")
    return value


def _factor(raw: str) -> float:
    return _positive_float(raw, LARGEST_FACTOR)


@dataclass(frozen=True)
class Settings:
    """Typed settings with defaults; `from_environment` alone reads the environment."""

    instance_dir: Path = Path("instance")
    database_url: str = ""
    photo_dir: Path = Path()
    bpmn_dir: Path = PROJECT_ROOT / "bpmn"
    process_id: str = "case_loop"
    max_photos: int = 9
    max_photo_bytes: int = 15 * 1024 * 1024
    max_photo_pixels: int = 50_000_000
    max_request_bytes: int = 120 * 1024 * 1024
    thumbnail_pixels: int = 320
    scheduler: bool = True
    sweep_seconds: float = 30.0
    test_clock: bool = False
    log_level: str = "INFO"
    workday_start: time = time(9, 0)
    workday_end: time = time(18, 0)
    supervision_factor: float = 2.0
    supervision_on_return: int = 3
    common_problem_radius_m: float = 300.0
    common_problem_window_hours: float = 72.0
    common_problem_min_cases: int = 3
    notify_sender: str = "log"
    notify_webhook_url: str = ""
    notify_max_attempts: int = 8
    partner_urls: str = ""
    # Signs the pages' session cookies; empty: generated once, kept in the instance.
    secret_key: str = field(default="", repr=False)
    # Cookies only over HTTPS: set wherever the pages are served over HTTPS.
    secure_cookies: bool = False
    # A pooled PostgreSQL connection idle this long is pinged before it is used.
    db_idle_ping_seconds: float = 10.0

    def __post_init__(self):
        instance = Path(self.instance_dir)
        object.__setattr__(self, "instance_dir", instance)
        if not self.database_url:
            url = f"sqlite:///{(instance / 'suishoupai.db').resolve()}"
            object.__setattr__(self, "database_url", url)
        if self.photo_dir == Path():
            object.__setattr__(self, "photo_dir", instance / "photos")
        if self.workday_end <= self.workday_start:
            raise SettingsError("SUISHOUPAI_WORKDAY_END must be after WORKDAY_START")
        if self.notify_sender == "webhook" and not self.notify_webhook_url:
            raise SettingsError(
                "SUISHOUPAI_NOTIFY_SENDER=webhook needs SUISHOUPAI_NOTIFY_WEBHOOK_URL"
            )

    @property
    def partner_url_map(self) -> dict[str, str]:
        pairs = (p.partition("=") for p in self.partner_urls.split(",") if "=" in p)
        return {code.strip(): url.strip() for code, _, url in pairs}

    @classmethod
    def from_environment(cls, environ=None, **overrides) -> "Settings":
        environ = os.environ if environ is None else environ
        parse = {
            "instance_dir": Path,
            "database_url": str,
            "photo_dir": Path,
            "bpmn_dir": Path,
            "process_id": str,
            "max_photos": _positive_int,
            "max_photo_bytes": _positive_int,
            "max_photo_pixels": _positive_int,
            "max_request_bytes": _positive_int,
            "thumbnail_pixels": _positive_int,
            "scheduler": _flag,
            "sweep_seconds": _positive_float,
            "test_clock": _flag,
            "log_level": str.upper,
            "workday_start": _clock_time,
            "workday_end": _clock_time,
            "supervision_factor": _factor,
            "supervision_on_return": _positive_int,
            "common_problem_radius_m": _positive_float,
            "common_problem_window_hours": _positive_float,
            "common_problem_min_cases": _positive_int,
            "notify_sender": _sender,
            "notify_webhook_url": str,
            "notify_max_attempts": _positive_int,
            "partner_urls": _partner_urls,
            "secret_key": _secret,
            "secure_cookies": _flag,
            "db_idle_ping_seconds": _positive_float,
        }
        values = {}
        for setting in fields(cls):
            variable = f"SUISHOUPAI_{setting.name.upper()}"
            if setting.name not in parse or variable not in environ:
                continue
            try:
                values[setting.name] = parse[setting.name](environ[variable])
            except ValueError as error:
                # A secret is named, never echoed into a log.
                shown = "(hidden)" if setting.repr is False else repr(environ[variable])
                raise SettingsError(
                    f"{variable}={shown} is not usable: {error}"
                ) from error
        values.update(overrides)
        return cls(**values)
