"""Settings, read once from ``ICITY_*`` environment variables."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ICITY_", env_file=".env", extra="ignore")

    var_dir: Path = Field(Path("var"), description="Folder for the embedded database and local files.")
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL. Unset: SQLite (WAL) at <var_dir>/icity.db. "
        "PostgreSQL: postgresql+psycopg://user@host:5432/icity",
    )
    host: str = Field("127.0.0.1", description="Address `icity serve` listens on.")
    port: int = Field(8000, description="Port `icity serve` listens on.")
    workers: int = Field(1, description="Number of API worker processes for `icity serve`.")
    threads: int = Field(
        4,
        description="Threads per worker running requests. Few threads contend less for the interpreter lock; "
        "raise it when the database answers slowly (remote PostgreSQL).",
    )
    page_size_default: int = Field(20, description="Items per page when `limit` is not given.")
    page_size_max: int = Field(1000, description="Largest accepted `limit`.")
    public_url: str = Field(
        "http://127.0.0.1:8000", description="Address users reach the platform at; links in mails start with it."
    )
    secret_key: str | None = Field(
        None,
        description="Signs email verification links. Unset: a random key generated once into <var_dir>/secret_key. "
        "Every worker and server of one deployment needs the same key.",
    )
    smtp_url: str | None = Field(
        None,
        description="Mail server, e.g. smtp://user:password@mail.example.org:587 (STARTTLS) or smtps://…:465. "
        "Unset: mails are written to <var_dir>/outbox/ and listed by `icity outbox`.",
    )
    mail_from: str = Field("iCity <no-reply@icity.localhost>", description="Sender of the platform's mails.")
    redis_url: str | None = Field(
        None,
        description="Redis, e.g. redis://127.0.0.1:6379/0. Set: rate limits are shared by all workers. "
        "Unset: each worker keeps its own limits in memory.",
    )
    session_hours: int = Field(12, description="Lifetime of a login session.")
    verification_hours: int = Field(48, description="How long an email verification link stays valid.")
    key_overlap_hours: int = Field(
        24, description="Default time a rotated API key keeps working beside its replacement."
    )
    max_body_bytes: int = Field(1_048_576, description="Largest accepted request body; larger ones get 413.")
    harvest_timeout_s: float = Field(
        30, description="Seconds a source may take to answer or to send the next bytes before a harvest run fails."
    )
    harvest_parallel: int = Field(4, description="Sources harvested at the same time; a slow one never delays the others.")
    harvest_in_server: bool = Field(
        True, description="`icity serve` also runs the scheduled harvests. Set false when `icity worker` runs them."
    )
    mqtt_url: str | None = Field(
        None,
        description="MQTT broker to take pushed observations from, e.g. mqtt://127.0.0.1:1883 (mqtts:// for TLS, "
        "user:password@ if it asks). Set: `icity serve` and `icity worker` subscribe to icity/+/+/+/attrs.",
    )

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'icity.db').resolve()}"


def secret_key(settings: Settings) -> str:
    """The configured key, or one generated once and kept in the var folder."""
    if settings.secret_key:
        return settings.secret_key
    path = settings.var_dir / "secret_key"
    if not path.exists():
        import secrets

        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
