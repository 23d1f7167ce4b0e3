"""Field types shared by the config sections. TOML already carries types, so numbers and booleans are strict:
``port = "9464"`` or ``enabled = "yes"`` is a mistake worth reporting, not something to guess about."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, Strict, ValidationInfo

from daemon.config.references import context_of


class Section(BaseModel):
    """Base of every config table: unknown keys are refused and a loaded config never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)


Int = Annotated[int, Strict()]
Bool = Annotated[bool, Strict()]
Seconds = Annotated[float, Strict(), Field(gt=0)]
"""An interval in seconds; must be > 0 (an integer is fine)."""
NonNegativeSeconds = Annotated[float, Strict(), Field(ge=0)]


_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(s|m|h|d)")
_UNIT_S = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def _duration_s(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError('must be a duration string such as "90m", "6h" or "2d"')
    found = _DURATION.fullmatch(value.strip())
    if found is None:
        raise ValueError(f'must be a number with a unit s, m, h or d (e.g. "6h"), got {value!r}')
    return float(found.group(1)) * _UNIT_S[found.group(2)]


Duration = Annotated[float, BeforeValidator(_duration_s)]
"""A length of time written with its unit (``"90m"``, ``"6h"``, ``"2d"``), held in seconds."""


def _check_http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http:// or https:// URL")
    return value.rstrip("/")


HttpUrl = Annotated[str, AfterValidator(_check_http_url)]
"""An absolute http(s) URL as a plain string, without trailing slash."""


def _relative_to_config(value: Any, info: ValidationInfo) -> Any:
    if value == "":
        raise ValueError("must not be empty")
    if isinstance(value, str):
        path = Path(value).expanduser()
        return path if path.is_absolute() else context_of(info).base_dir / path
    return value


ConfigPath = Annotated[Path, BeforeValidator(_relative_to_config)]
"""A filesystem path; a relative one is taken relative to the directory of the config file."""

ShippingMethodId = Annotated[str, Field(min_length=4)]
"""An FFN ``shippingMethodId`` (at least 4 characters, e.g. ``FULF0A0001``)."""


def matching(pattern: str, message: str) -> AfterValidator:
    """A regex check whose error says what the value is for, not just which regex failed."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(message)
        return value

    return AfterValidator(check)
