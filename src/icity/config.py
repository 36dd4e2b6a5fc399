"""Settings, read once from ``ICITY_*`` environment variables."""

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ICITY_", env_file=".env", extra="ignore")

    var_dir: Path = Field(Path("var"), description="Folder for the embedded database and local files.")
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL. Unset: SQLite (WAL) at <var_dir>/icity.db. "
        "PostgreSQL: postgresql+psycopg://user@host:5432/icity",
    )
    database_read_url: str | None = Field(
        None,
        description="SQLAlchemy URL of a read replica of ICITY_DATABASE_URL. Set: the public read API (entities, "
        "history, NGSI-LD queries, the catalogue) reads there; writes, sign-in and everything that must see its own "
        "writes stay on ICITY_DATABASE_URL. Unset: everything uses ICITY_DATABASE_URL.",
    )
    host: str = Field("127.0.0.1", description="Address `icity serve` listens on.")
    port: int = Field(8000, description="Port `icity serve` listens on.")
    workers: int = Field(1, description="Number of API worker processes for `icity serve`.")
    threads: int = Field(
        4,
        description="Threads per worker running requests. Few threads contend less for the interpreter lock; "
        "raise it when the database answers slowly (remote PostgreSQL).",
    )
    max_requests_in_flight: int = Field(
        32,
        ge=1,
        description="Requests a worker process serves at once; more wait their turn (ICITY_REQUEST_QUEUE_TIMEOUT_S) "
        "without holding a database connection. The worker's request pool has room for two connections each.",
    )
    request_queue_timeout_s: float = Field(
        2, gt=0, description="Seconds a request may wait for its turn before it is answered 503 with Retry-After."
    )
    db_pool_timeout_s: float = Field(
        3, gt=0, description="Seconds a request may wait for a database connection before it is answered 503."
    )
    db_lock_timeout_s: float = Field(
        3, gt=0, description="Seconds a push may wait for SQLite's write lock (held by another writer) before 503."
    )
    db_background_pool_size: int = Field(
        4, ge=1, description="Database connections of the background work (harvests, webhooks, alarms, commands, "
        "metering, mail), apart from the requests' so that it can never leave a request without one.",
    )  # fmt: skip
    shutdown_timeout_s: float = Field(
        10, gt=0, description="On SIGTERM, seconds `icity serve` lets the requests under way finish before it exits."
    )
    page_size_default: int = Field(20, description="Items per page when `limit` is not given.")
    page_size_max: int = Field(1000, description="Largest accepted `limit`.")
    public_url: str = Field(
        "",
        description="Address users reach the platform at; links in mails, sample requests and the demo's sources "
        "start with it. Unset: http://<ICITY_HOST>:<ICITY_PORT> (127.0.0.1 when the host is 0.0.0.0 or ::).",
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
        description="Redis, e.g. redis://127.0.0.1:6379/0. Set: rate limits are shared by all workers, and each "
        "commit that changed data wakes the SSE streams of every worker at once. "
        "Unset: each worker keeps its own limits in memory.",
    )
    owner_objection_days: int = Field(
        14,
        ge=0,
        description="Days a city has to object before an infrastructure owner's information system located in it "
        "opens for the first time (0: the city is told and the system opens at once).",
    )
    session_hours: int = Field(12, description="Lifetime of a login session.")
    verification_hours: int = Field(48, description="How long an email verification link stays valid.")
    reset_minutes: int = Field(60, description="How long a password reset link stays valid (it works once).")
    key_overlap_hours: int = Field(
        24, description="Default time a rotated API key keeps working beside its replacement."
    )
    max_keys_per_app: int = Field(
        5, ge=1, description="Most live (not revoked, not expired, not being replaced) API keys an app may hold."
    )
    max_body_bytes: int = Field(1_048_576, description="Largest accepted request body; larger ones get 413.")
    max_batch_body_bytes: int = Field(
        33_554_432, description="Largest accepted body of an NGSI-LD batch operation (up to 10,000 entities); larger ones get 413."
    )
    harvest_timeout_s: float = Field(
        30, description="Seconds a source may take to answer or to send the next bytes before a harvest run fails."
    )
    harvest_parallel: int = Field(4, description="Sources harvested at the same time; a slow one never delays the others.")
    background_in_server: bool = Field(
        True,
        # ICITY_HARVEST_IN_SERVER: its name while harvests were the only background work (still read)
        validation_alias=AliasChoices("ICITY_BACKGROUND_IN_SERVER", "ICITY_HARVEST_IN_SERVER"),
        description="`icity serve` also runs the platform's background work (scheduled harvests, MQTT ingest, webhook "
        "deliveries, alarms, device commands). Set false when an `icity worker` runs it.",
    )
    change_retention_h: int = Field(
        24, description="Hours the change log is kept: how far back an SSE stream can resume with Last-Event-ID."
    )
    stream_poll_s: float = Field(
        1.0,
        description="Seconds between two reads of the change log by each worker's SSE streams when no commit wakes "
        "them (a commit in the same worker, or with ICITY_REDIS_URL in any, wakes them at once).",
    )
    mqtt_url: str | None = Field(
        None,
        description="MQTT broker to take pushed observations from, e.g. mqtt://127.0.0.1:1883 (mqtts:// for TLS, "
        "user:password@ if it asks). Set: `icity serve` and `icity worker` subscribe to icity/+/+/+/attrs.",
    )
    worker_id: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_.-]{1,64}$",
        description="A name for this process that stays the same when it is restarted and differs from every other "
        "process's (e.g. worker-1, or the host name plus a slot). Set: its MQTT session is persistent "
        "(client id icity-ingest-<id>), so messages it took but had not stored when it died come back to it when "
        "it restarts. Unset: a new session each start, and what a killed process had not stored is lost.",
    )
    demo_simulator: bool = Field(
        True,
        description="On the demo's database (one `icity demo load` filled), `icity serve`'s background work keeps the "
        "demo's sensors reporting through the platform's own push API (and MQTT with ICITY_MQTT_URL). Never runs on "
        "another database; set false to keep the demo still.",
    )
    command_ttl_s: int = Field(
        60, ge=1, le=86_400,
        description="Seconds a device command waits to be delivered and answered before it expires, when the app "
        "gives no expiresInS (at most a day).",
    )  # fmt: skip
    command_http_timeout_s: float = Field(
        10, description="Seconds a device's HTTP command endpoint may take to answer before the attempt is retried."
    )
    webhook_timeout_s: float = Field(5, description="Seconds a webhook endpoint may take to answer before the attempt fails.")
    webhook_max_attempts: int = Field(
        8, description="Failed attempts after which a webhook notification becomes a dead letter (retried on request)."
    )
    webhook_backoff_s: float = Field(
        2, description="Wait before the first retry of a webhook notification; doubled after each failure (capped at 1 h)."
    )
    webhook_poll_s: float = Field(
        1, description="How often webhook deliveries look for work when no change in this process woke them."
    )
    webhook_log_days: int = Field(
        30, description="Days a finished webhook delivery (delivered, dead, withheld) stays in the developer's delivery log."
    )
    webhook_private_networks: bool = Field(
        False,
        description="Allow webhook endpoints and device command URLs whose host resolves to a private, loopback, "
        "link-local, multicast or reserved address. Only for development and tests with local receivers: in "
        "production it lets developers make the platform call its own network.",
    )

    ld_context_timeout_s: float = Field(
        3, gt=0, description="NGSI-LD: how long fetching a client's JSON-LD @context may take before the request is "
        "answered 503 LdContextNotAvailable."
    )
    ld_context_max_bytes: int = Field(
        1_000_000, gt=0, description="NGSI-LD: the largest client @context document fetched."
    )
    ld_context_cache_s: float = Field(
        3600, ge=0, description="NGSI-LD: seconds a fetched client @context is kept before it is fetched again."
    )

    observed_since: str = Field(
        "1970-01-01T00:00:00Z",
        description="Earliest observation time a push or harvest accepts (ISO 8601); older ones are refused with a reason.",
    )
    observed_ahead_min: int = Field(
        5, ge=0, description="Minutes an observation time may be ahead of the platform's clock (devices' clock skew).",
    )

    map_tiles_url: str | None = Field(
        None,
        description="Tile server of the portal's maps, e.g. https://tile.example.org/{z}/{x}/{y}.png. Unset: the "
        "offline basemap only (country outlines shipped with the portal), so maps work with no internet.",
    )
    map_tiles_attribution: str = Field(
        "", description="Attribution the tile server asks for, shown in the corner of the portal's maps."
    )

    @model_validator(mode="after")
    def _public_url_follows_host_and_port(self) -> "Settings":
        # Unset, the platform is reached where it listens: mails and the demo's feeds follow ICITY_PORT.
        if not self.public_url.strip():
            self.public_url = served_url(self.host, self.port)
        self.public_url = self.public_url.rstrip("/")
        return self

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'icity.db').resolve()}"


def served_url(host: str, port: int) -> str:
    """The URL a server listening on ``host``:``port`` answers at from this machine."""
    if host in ("", "0.0.0.0", "::"):  # every interface: the loopback one is among them
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


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
