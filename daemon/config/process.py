"""Process-wide sections: they may appear in any merchant file, and must be equal wherever they appear."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import BeforeValidator, Field, model_validator

from daemon.config.references import SecretValue
from daemon.config.types import Bool, ConfigPath, Int, Seconds, Section
from daemon.config.webhooks import WebhooksConfig

DEFAULT_STATE_DIR = Path("/var/lib/ffn-sync")


class DaemonConfig(Section):
    state_dir: ConfigPath = DEFAULT_STATE_DIR
    """Working state (the embedded Postgres when ``database.dsn`` is absent). systemd: ``StateDirectory=``."""
    shutdown_grace_s: Annotated[Seconds, Field(le=3600)] = 20.0


class DatabaseConfig(Section):
    dsn: SecretValue | None = None
    """``postgresql://…`` via env:/file:; absent -> embedded Postgres in ``daemon.state_dir``."""
    pool_min: Annotated[Int, Field(ge=0)] = 1
    pool_max: Annotated[Int, Field(ge=1)] = 10

    @model_validator(mode="after")
    def _pool_bounds(self) -> Self:
        if self.pool_min > self.pool_max:
            raise ValueError(f"pool_min ({self.pool_min}) must not exceed pool_max ({self.pool_max})")
        return self


LogLevel = Literal["TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL"]


class LoggingConfig(Section):
    level: Annotated[LogLevel, BeforeValidator(lambda v: v.upper() if isinstance(v, str) else v)] = "INFO"
    format: Literal["human", "json"] = "human"


class MetricsConfig(Section):
    enabled: Bool = True
    host: Annotated[str, Field(min_length=1)] = "127.0.0.1"
    port: Annotated[Int, Field(ge=1, le=65535)] = 9464


PROCESS_SECTIONS: dict[str, type[Section]] = {
    "daemon": DaemonConfig,
    "database": DatabaseConfig,
    "logging": LoggingConfig,
    "metrics": MetricsConfig,
    "webhooks": WebhooksConfig,
}
