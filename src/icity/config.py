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

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'icity.db').resolve()}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
