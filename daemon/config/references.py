"""Secret references: ``env:NAME`` or ``file:/path``, resolved while the models are validated.

Secrets never live in the TOML itself; the files are world-readable in practice (backups, git). systemd hands
secrets over as ``LoadCredential=`` files or an ``EnvironmentFile=``, which is what these references point at.
Resolution failures are ordinary validation errors, so every one of them is reported in the same pass.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainSerializer, PlainValidator, ValidationInfo, WithJsonSchema

from daemon.secrets import Secret

INLINE_SECRET = "inline secret: use env:NAME or file:/path (systemd LoadCredential=)"

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# What templates and example files put where a real value belongs.
_PLACEHOLDER = re.compile(
    r"^\s*(change[-_ ]?me|replace[-_ ]?me|todo|fixme|tbd|x{3,}|\.{3}|<[^<>]*>)\s*$", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class ResolveContext:
    environ: Mapping[str, str]
    base_dir: Path  # relative ``file:`` paths are relative to the config file's directory


def context_of(info: ValidationInfo) -> ResolveContext:
    ctx = info.context
    if isinstance(ctx, ResolveContext):
        return ctx
    return ResolveContext(environ=os.environ, base_dir=Path.cwd())


def is_placeholder(value: str) -> bool:
    return bool(_PLACEHOLDER.match(value))


def is_reference(value: str) -> bool:
    return value.startswith(("env:", "file:"))


def resolve_reference(reference: str, ctx: ResolveContext) -> str:
    """The value behind ``env:NAME`` / ``file:/path``; ValueError (never echoing the value) otherwise."""
    scheme, _, target = reference.partition(":")
    if scheme == "env":
        value = _from_environ(target, ctx.environ)
    else:
        value = _from_file(target, ctx.base_dir)
    if is_placeholder(value):
        raise ValueError(f"{reference} holds a placeholder value: put the real value there")
    return value


def _from_environ(name: str, environ: Mapping[str, str]) -> str:
    if not _ENV_NAME.match(name):
        raise ValueError(f"env:{name} is not a valid environment variable name (letters, digits, _)")
    value = environ.get(name)
    if value is None:
        raise ValueError(f"environment variable {name} is not set (referenced as env:{name})")
    if not value:
        raise ValueError(f"environment variable {name} is empty")
    return value


def _from_file(target: str, base_dir: Path) -> str:
    if not target:
        raise ValueError("file: needs a path, e.g. file:/run/credentials/ffn-sync.service/token")
    path = Path(target).expanduser()
    if not path.is_absolute():
        path = base_dir / path
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ValueError(f"cannot read secret file {path}: {reason}") from None
    # Editors and `echo` add one newline; anything else is part of the secret.
    text = text.removesuffix("\n").removesuffix("\r")
    if not text:
        raise ValueError(f"secret file {path} is empty")
    return text


def _to_secret(value: Any, info: ValidationInfo) -> Secret:
    if isinstance(value, Secret):
        return value
    if not isinstance(value, str):
        raise ValueError("must be a string: env:NAME or file:/path")
    if not is_reference(value):
        raise ValueError(INLINE_SECRET)
    return Secret(resolve_reference(value, context_of(info)), source=value)


def _maybe_resolve(value: Any, info: ValidationInfo) -> Any:
    if isinstance(value, str) and is_reference(value):
        return resolve_reference(value, context_of(info))
    return value


SecretValue = Annotated[
    Secret,
    PlainValidator(_to_secret),
    PlainSerializer(lambda secret: secret.source, return_type=str),
    WithJsonSchema({"type": "string", "description": "env:NAME or file:/path"}),
]
"""A secret: only ``env:NAME`` / ``file:/path`` accepted; becomes a ``Secret`` (registered for redaction)."""

PlainOrReference = Annotated[str, BeforeValidator(_maybe_resolve), Field(min_length=1)]
"""A value that is not secret (a client id) but may still come from ``env:`` / ``file:``."""


def find_placeholders(data: Any, loc: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Locations of template placeholders (``CHANGE-ME``, ``<your token>``) among plain TOML strings."""
    if isinstance(data, Mapping):
        for key, value in data.items():
            yield from find_placeholders(value, (*loc, str(key)))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from find_placeholders(value, (*loc, index))
    elif isinstance(data, str) and is_placeholder(data):
        yield loc
