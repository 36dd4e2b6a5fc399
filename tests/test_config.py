"""Settings derived from others: the public URL follows the host and port unless it is set."""

import pytest

from icity.config import Settings


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
