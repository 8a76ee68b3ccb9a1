"""Every setting of the service, read once from SUISHOUPAI_* variables."""

import os
from dataclasses import dataclass, fields
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


def _positive_float(raw: str) -> float:
    value = float(raw)
    if value <= 0:
        raise ValueError("expected a positive number")
    return value


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
    page_size: int = 50

    def __post_init__(self):
        instance = Path(self.instance_dir)
        object.__setattr__(self, "instance_dir", instance)
        if not self.database_url:
            url = f"sqlite:///{(instance / 'suishoupai.db').resolve()}"
            object.__setattr__(self, "database_url", url)
        if self.photo_dir == Path():
            object.__setattr__(self, "photo_dir", instance / "photos")

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
            "page_size": _positive_int,
        }
        values = {}
        for setting in fields(cls):
            variable = f"SUISHOUPAI_{setting.name.upper()}"
            if setting.name not in parse or variable not in environ:
                continue
            try:
                values[setting.name] = parse[setting.name](environ[variable])
            except ValueError as error:
                raise SettingsError(
                    f"{variable}={environ[variable]!r} is not usable: {error}"
                ) from error
        values.update(overrides)
        return cls(**values)
