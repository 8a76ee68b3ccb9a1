"""Settings come from SUISHOUPAI_* variables; a bad value stops start-up by name."""

import subprocess
import sys
from pathlib import Path

import pytest

from service.settings import Settings, SettingsError

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_keep_everything_under_the_instance_folder(tmp_path):
    settings = Settings.from_environment({"SUISHOUPAI_INSTANCE_DIR": str(tmp_path)})

    assert settings.database_url == f"sqlite:///{tmp_path.resolve()}/suishoupai.db"
    assert settings.photo_dir == tmp_path / "photos"
    assert settings.max_photos == 9
    assert settings.test_clock is False


def test_typed_values_are_read(tmp_path):
    settings = Settings.from_environment(
        {
            "SUISHOUPAI_MAX_PHOTOS": "3",
            "SUISHOUPAI_SCHEDULER": "off",
            "SUISHOUPAI_SWEEP_SECONDS": "2.5",
            "SUISHOUPAI_DATABASE_URL": "postgresql+psycopg://db/x",
        }
    )

    assert settings.max_photos == 3
    assert settings.scheduler is False
    assert settings.sweep_seconds == 2.5
    assert settings.database_url == "postgresql+psycopg://db/x"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SUISHOUPAI_MAX_PHOTOS", "many"),
        ("SUISHOUPAI_MAX_PHOTOS", "0"),
        ("SUISHOUPAI_SCHEDULER", "perhaps"),
        ("SUISHOUPAI_SWEEP_SECONDS", "-1"),
        ("SUISHOUPAI_SWEEP_SECONDS", "inf"),
        ("SUISHOUPAI_SWEEP_SECONDS", "nan"),
        ("SUISHOUPAI_COMMON_PROBLEM_RADIUS_M", "1e300"),
        ("SUISHOUPAI_SUPERVISION_FACTOR", "1000"),
        ("SUISHOUPAI_WORKDAY_START", "09:00+08:00"),
        ("SUISHOUPAI_PARTNER_URLS", "nope=http://127.0.0.1:9"),
    ],
)
def test_bad_value_names_the_variable(variable, value):
    with pytest.raises(SettingsError, match=variable):
        Settings.from_environment({variable: value})


def test_service_refuses_to_start_with_a_bad_setting(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "serve", "--port", "1"],
        cwd=ROOT,
        env={
            "SUISHOUPAI_INSTANCE_DIR": str(tmp_path),
            "SUISHOUPAI_MAX_PHOTOS": "x",
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert "SUISHOUPAI_MAX_PHOTOS" in result.stderr
    assert "Traceback" not in result.stderr
