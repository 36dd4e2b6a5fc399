from pathlib import Path

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
