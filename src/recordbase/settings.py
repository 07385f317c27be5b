"""One typed settings object, read once at start-up and passed down.

Every setting can come from a flag of `recordbase serve`, from the environment
(`RECORDBASE_<NAME>`), or from a `.env`-style file named by `RECORDBASE_ENV_FILE`.
docs/settings.md lists them; a test fails when one is undocumented.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """recordbase's configuration."""

    model_config = SettingsConfigDict(
        env_prefix="RECORDBASE_",
        env_file=os.environ.get("RECORDBASE_ENV_FILE"),
        extra="ignore",
        frozen=True,
    )

    data_dir: Path = Field(
        Path("recordbase-data"), description="Directory for the SQLite database and files."
    )
    database_url: str = Field(
        "",
        description="sqlite:///PATH or postgresql://USER@HOST:PORT/DB; empty means SQLite in data_dir.",
    )
    database_schema: str = Field(
        "public",
        description="PostgreSQL schema that holds recordbase's tables (one schema per installation).",
    )
    database_pool_size: int = Field(10, ge=1, le=200, description="Connections per server process.")
    host: str = Field("127.0.0.1", description="Address the server listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port the server listens on.")
    workers: int = Field(1, ge=1, le=64, description="Server processes (uvicorn workers).")
    list_limit_default: int = Field(100, ge=1, description="Records per page when `limit` is not given.")
    list_limit_max: int = Field(1000, ge=1, description="Largest `limit` a list or query accepts.")
    batch_limit: int = Field(1000, ge=1, description="Largest number of records in one batch request.")
    max_body_bytes: int = Field(
        32 * 1024 * 1024, ge=1024, description="Largest JSON request body accepted, in bytes (413 above)."
    )
    sql_max_rows: int = Field(
        10_000, ge=1, le=1_000_000, description="Most rows one SQL query (`query/execute`) may return."
    )
    sql_timeout: float = Field(
        5.0, gt=0, le=600, description="Seconds one SQL query (`query/execute`) may run before it is stopped."
    )
    log_level: str = Field("info", description="Log level: debug, info, warning or error.")
    secret_key: str = Field(
        "", description="Key that signs access tokens; empty: generated once and kept in the database."
    )
    access_token_lifetime: int = Field(3600, ge=60, le=86400, description="Access token lifetime in seconds.")
    refresh_token_lifetime: int = Field(
        30 * 86400,
        ge=300,
        le=365 * 86400,
        description="Absolute lifetime of a refresh-token family in seconds, counted from the sign-in.",
    )
    log_format: str = Field(
        "auto",
        description="Log lines as `json` (one object a line, with the request id), `console` (for people), "
        "or `auto`: console on a terminal, JSON otherwise.",
    )
    access_log: bool = Field(
        False, description="Log one line per request (method, route template, status, duration, request id)."
    )
    openapi_public: bool = Field(
        False,
        description="Serve the OpenAPI descriptions (`/api/openapi.json`) without a token; "
        "they list every entity and field name.",
    )
    cors_origins: str = Field(
        "",
        description="Comma-separated origins (`https://app.example.com`) whose browser apps may call the "
        "API; `*` allows any. Empty: CORS off (no middleware).",
    )

    files_storage: Literal["local", "s3"] = Field(
        "local", description="Where file-field contents live: `local` (a directory) or `s3` (S3-compatible)."
    )
    files_dir: Path | None = Field(
        None, description="Directory of the local file store; empty: `files` inside data_dir."
    )
    files_max_bytes: int = Field(
        10 * 1024 * 1024, ge=1, description="Largest file accepted by an upload, in bytes (413 above)."
    )
    files_s3_endpoint: str = Field("", description="S3 endpoint URL (MinIO, SeaweedFS…); empty: AWS S3.")
    files_s3_bucket: str = Field("", description="S3 bucket that holds the files (must exist).")
    files_s3_region: str = Field("us-east-1", description="S3 region.")
    files_s3_access_key_id: str = Field("", description="S3 access key id; empty: from the AWS environment.")
    files_s3_secret_access_key: SecretStr = Field(SecretStr(""), description="S3 secret access key.")
    files_s3_prefix: str = Field(
        "", description="Key prefix inside the bucket, for a bucket shared with others."
    )
    files_sweep_interval: int = Field(
        3600, ge=0, description="Seconds between sweeps for orphaned file blobs; 0 turns the sweeper off."
    )
    files_sweep_grace: int = Field(
        3600, ge=0, description="Seconds an unreferenced blob is kept before the sweeper deletes it."
    )
    export_escape_formulas: bool = Field(
        True, description="CSV export prefixes `'` to text cells a spreadsheet would run as a formula."
    )

    events_poll_interval: float = Field(
        1.0,
        gt=0,
        le=60,
        description="Seconds between looks for events and due webhook deliveries "
        "written by other processes (a process's own writes are seen at once).",
    )
    events_retention: int = Field(
        7 * 86400,
        ge=0,
        description="Seconds dispatched events are kept (for `Last-Event-ID` resumes and "
        "the delivery log); 0 keeps them forever.",
    )
    events_heartbeat: float = Field(
        15.0, gt=0, le=300, description="Seconds between keep-alive comments on an idle event stream."
    )
    webhook_timeout: float = Field(
        10.0, gt=0, le=120, description="Seconds a webhook receiver has to answer."
    )
    webhook_retry_base: float = Field(
        5.0, gt=0, description="Seconds before the first retry of a failed delivery; each retry doubles it."
    )
    webhook_retry_max_interval: float = Field(
        3600.0, gt=0, description="Longest wait between two retries, in seconds."
    )
    webhook_retry_window: float = Field(
        3 * 86400.0, gt=0, description="Seconds a delivery is retried before it is marked failed."
    )
    webhook_private_targets: bool = Field(
        False,
        description="Allow webhook URLs on loopback, private and link-local addresses (receivers on the "
        "server's own network); off, such deliveries are refused.",
    )
    webhook_disable_after: int = Field(
        100, ge=1, description="Failed attempts in a row after which a subscription is disabled."
    )

    @field_validator("database_schema")
    @classmethod
    def _plain_identifier(cls, value: str) -> str:
        if not value.replace("_", "").isalnum() or not value[0].isalpha():
            raise ValueError("database_schema must be a plain identifier")
        return value

    @field_validator("log_format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if value not in ("auto", "json", "console"):
            raise ValueError("log_format must be auto, json or console")
        return value

    @property
    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file inside the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'recordbase.sqlite3'}"

    @property
    def is_postgres(self) -> bool:
        return self.resolved_database_url.startswith(("postgresql://", "postgres://"))
