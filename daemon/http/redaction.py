"""Making URLs, headers and upstream text safe to print.

``daemon.secrets.redact`` only knows registered secret values; credentials that arrive from elsewhere
(a refreshed access token, a signature, a key in a ``nextChunkUrl``) are masked by name as well.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from daemon.secrets import redact

MASK = "***"
SNIPPET_CHARS = 200

_SENSITIVE_NAME = re.compile(r"token|secret|key|password|passwd|authorization|signature", re.I)
# name=value pairs inside free text (exception messages, URLs embedded in error bodies)
_SENSITIVE_PAIR = re.compile(
    r"(?P<name>[\w.\-\[\]]*(?:token|secret|key|password|passwd|authorization|signature)[\w.\-\[\]]*)"
    r"(?P<sep>=|%3D)(?P<value>[^&\s\"'<>,;]+)",
    re.I,
)
_SENSITIVE_JSON = re.compile(
    r'(?P<head>"[\w.\-]*(?:token|secret|key|password|passwd|authorization|signature)[\w.\-]*"\s*:\s*")'
    r'(?P<value>[^"]*)"',
    re.I,
)
_BEARER = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=\-]+", re.I)


def is_sensitive_name(name: str) -> bool:
    return bool(_SENSITIVE_NAME.search(name))


def scrub(text: str) -> str:
    """Registered secrets, ``name=value`` credentials and bearer tokens masked."""
    text = redact(text)
    text = _SENSITIVE_PAIR.sub(lambda m: f"{m.group('name')}{m.group('sep')}{MASK}", text)
    text = _SENSITIVE_JSON.sub(lambda m: f'{m.group("head")}{MASK}"', text)
    return _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)


def safe_url(url: str) -> str:
    """The URL with credentials in its query and userinfo masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return scrub(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rsplit('@', 1)[1]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(is_sensitive_name(name) for name, _ in pairs):
            masked = [(name, MASK if is_sensitive_name(name) else value) for name, value in pairs]
            query = urlencode(masked, safe="*")
    return scrub(urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)))


def safe_target(url: str) -> str:
    """Path and query only (what a log line needs), credentials masked."""
    parts = urlsplit(safe_url(url))
    return parts.path + (f"?{parts.query}" if parts.query else "") or "/"


def safe_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name: MASK if is_sensitive_name(name) else scrub(value) for name, value in headers.items()}


def body_snippet(body: bytes, limit: int = SNIPPET_CHARS) -> str:
    text = body[: limit * 4].decode("utf-8", errors="replace")
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[:limit] + "…"
    return scrub(text)
