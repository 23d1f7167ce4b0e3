"""A digest of a resolved config, so a reload can tell whether anything changed.

Secret values take part only through a keyed digest whose key lives in this process alone: a rotated credential
changes the fingerprint, yet the fingerprint says nothing about the credential, even when logged. Hence the
fingerprint is stable within one process (what reload compares), not across restarts.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import date, datetime, time
from enum import Enum
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel

from daemon.secrets import Secret

_PROCESS_KEY = secrets.token_bytes(32)
# Where a file came from is not configuration; renaming a file changes nothing.
_SKIPPED_FIELDS = frozenset({"source", "sources"})


def _canonical(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return {
            name: _canonical(getattr(value, name))
            for name in type(value).model_fields
            if name not in _SKIPPED_FIELDS
        }
    if isinstance(value, Secret):
        digest = hmac.new(_PROCESS_KEY, value.reveal().encode(), hashlib.sha256).hexdigest()
        return {"secret": value.source, "digest": digest}
    if isinstance(value, tuple | list):
        return [_canonical(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, Enum):
        return _canonical(value.value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return value


def fingerprint_of(model: BaseModel) -> str:
    encoded = orjson.dumps(_canonical(model), option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(encoded, digest_size=16).hexdigest()
