"""Process-wide logging: loguru with one sink, human or JSON, secrets redacted, stdlib logging routed in.

Human lines carry the flow context as a prefix (``INFO    acme/shopify-main/orders record=1042 | …``);
the timestamp is left out under journald (``JOURNAL_STREAM`` set), which stamps every line itself.
JSON lines are one object each with ``time``, ``level``, ``message`` and every bound field at top level.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, TextIO

import orjson
from loguru import logger

from daemon.secrets import Secret, redact

if TYPE_CHECKING:
    from loguru import Message, Record

LogFormat = Literal["human", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("human", "json")
LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL")
CONTEXT_PATH = ("merchant", "channel", "flow")
# Third-party libraries talk through stdlib logging; below WARNING they are noise for an operator.
STDLIB_LEVEL = logging.WARNING


def configure_logging(
    fmt: LogFormat = "human",
    level: str = "INFO",
    *,
    stream: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> None:
    """(Re)configure the one sink. Safe to call again, e.g. once the config file has been read."""
    env = os.environ if environ is None else environ
    if fmt not in LOG_FORMATS:
        raise ValueError(f"unknown log format {fmt!r}; use one of {', '.join(LOG_FORMATS)}")
    formatter = _json_format if fmt == "json" else _human_formatter(with_time=not env.get("JOURNAL_STREAM"))
    logger.remove()
    logger.configure(patcher=_redact_record)
    logger.add(
        _RedactingSink(stream),
        level=level.upper(),
        format=formatter,
        colorize=False,
        diagnose=False,  # never print local variables (they may hold secrets)
        backtrace=False,
        catch=True,
    )
    _route_stdlib_logging()


class _RedactingSink:
    """Redacts the fully formatted line, so exception text is covered too."""

    def __init__(self, stream: TextIO | None) -> None:
        self._stream = stream

    def __call__(self, message: Message) -> None:
        stream = self._stream or sys.stderr  # resolved late: tests and daemons may swap stderr
        stream.write(redact(str(message)))
        stream.flush()


def _redact_record(record: Record) -> None:
    record["message"] = redact(record["message"])
    extra = record["extra"]
    for key, value in extra.items():
        if isinstance(value, Secret):
            extra[key] = repr(value)
        elif isinstance(value, str):
            extra[key] = redact(value)


def _context_prefix(extra: Mapping[str, Any]) -> str:
    path = "/".join(str(extra.get(k) or "-") for k in CONTEXT_PATH) if "merchant" in extra else ""
    others = [f"{k}={v}" for k, v in extra.items() if k not in CONTEXT_PATH and not k.startswith("_")]
    return " ".join(p for p in (path, *others) if p)


def _human_formatter(*, with_time: bool) -> Any:
    head = "{time:YYYY-MM-DD HH:mm:ss.SSS} " if with_time else ""

    def format_human(record: Record) -> str:
        prefix = _context_prefix(record["extra"])
        record["extra"]["_prefix"] = f"{prefix} | " if prefix else "| "
        return head + "{level: <7} {extra[_prefix]}{message}\n{exception}"

    return format_human


def _json_format(record: Record) -> str:
    document: dict[str, Any] = {
        "time": record["time"].isoformat(),
        "level": record["level"].name,
        "message": record["message"],
        "logger": record["name"],
    }
    document.update((k, v) for k, v in record["extra"].items() if not k.startswith("_"))
    exc = record["exception"]
    if exc is not None and exc.type is not None:
        document["exception"] = "".join(traceback.format_exception(exc.type, exc.value, exc.traceback))
    record["extra"]["_json"] = orjson.dumps(document, default=str).decode()
    return "{extra[_json]}\n"


class _InterceptHandler(logging.Handler):
    """Hands stdlib records (aiohttp, apscheduler, asyncio) to loguru with their level and origin."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        logger.bind(logger_name=record.name).opt(exception=record.exc_info, depth=0).log(
            level, record.getMessage()
        )


def _route_stdlib_logging() -> None:
    # Python warnings (e.g. from libraries at import) become log lines in the chosen format.
    logging.captureWarnings(True)
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if not isinstance(h, _InterceptHandler)]
    root.addHandler(_InterceptHandler())
    root.setLevel(STDLIB_LEVEL)
    for name in ("aiohttp", "apscheduler", "asyncio", "asyncpg"):
        logging.getLogger(name).setLevel(STDLIB_LEVEL)
