from pathlib import Path

import pytest

from icity.config import Settings

README = (Path(__file__).parents[1] / "README.md").read_text()


def test_every_setting_is_documented_in_the_readme():
    for name in Settings.model_fields:
        assert f"`ICITY_{name.upper()}`" in README, f"ICITY_{name.upper()} is not in the README's configuration table"


def test_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ICITY_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("ICITY_DATABASE_URL", raising=False)
    assert Settings().resolved_database_url() == f"sqlite:///{tmp_path.resolve()}/icity.db"
    monkeypatch.setenv("ICITY_DATABASE_URL", "postgresql+psycopg://u@h/db")
    assert Settings().resolved_database_url() == "postgresql+psycopg://u@h/db"


def test_the_former_name_of_background_in_server_is_still_read(monkeypatch):
    monkeypatch.delenv("ICITY_BACKGROUND_IN_SERVER", raising=False)
    monkeypatch.setenv("ICITY_HARVEST_IN_SERVER", "false")
    assert Settings().background_in_server is False
    monkeypatch.setenv("ICITY_BACKGROUND_IN_SERVER", "true")  # the current name wins
    assert Settings().background_in_server is True


# ---- the public URL follows the host and port unless it is set


@pytest.fixture(autouse=True)
def _no_icity_environment(monkeypatch):
    for name in ("ICITY_HOST", "ICITY_PORT", "ICITY_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)


def test_the_public_url_follows_the_port(monkeypatch):
    monkeypatch.setenv("ICITY_PORT", "8123")
    assert Settings(_env_file=None).public_url == "http://127.0.0.1:8123"


@pytest.mark.parametrize(
    ("host", "expected"),
    [("0.0.0.0", "http://127.0.0.1:8200"), ("::", "http://127.0.0.1:8200"), ("icity.lan", "http://icity.lan:8200"),
     ("::1", "http://[::1]:8200")],
)  # fmt: skip
def test_the_public_url_follows_the_host_and_listening_everywhere_means_the_loopback(monkeypatch, host, expected):
    monkeypatch.setenv("ICITY_HOST", host)
    monkeypatch.setenv("ICITY_PORT", "8200")
    assert Settings(_env_file=None).public_url == expected


def test_a_set_public_url_wins_and_loses_its_trailing_slash(monkeypatch):
    monkeypatch.setenv("ICITY_PORT", "8123")
    monkeypatch.setenv("ICITY_PUBLIC_URL", "https://icity.example.org/")
    assert Settings(_env_file=None).public_url == "https://icity.example.org"


def test_the_default_is_the_default_port():
    assert Settings(_env_file=None).public_url == "http://127.0.0.1:8000"
