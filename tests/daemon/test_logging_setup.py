from __future__ import annotations

import io
import logging
import re
import warnings

import orjson
import pytest
from loguru import logger

from daemon.logging_setup import configure_logging
from daemon.secrets import Secret, register

pytestmark = pytest.mark.usefixtures("restore_logging")


SECRET = "shpat_9f8e7d6c5b4a3210"


def lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_json_lines_carry_context_fields_at_top_level() -> None:
    out = io.StringIO()
    configure_logging("json", stream=out, environ={})

    with logger.contextualize(merchant="acme", channel="shopify-main", flow="orders"):
        logger.bind(record="1042").info("pushed {} outbound(s)", 7)

    (line,) = lines(out)
    document = orjson.loads(line)
    assert document["message"] == "pushed 7 outbound(s)"
    assert document["level"] == "INFO"
    assert document["time"].startswith("20")
    assert (document["merchant"], document["channel"], document["flow"], document["record"]) == (
        "acme",
        "shopify-main",
        "orders",
        "1042",
    )


def test_human_line_has_context_prefix_and_timestamp_outside_journald() -> None:
    out = io.StringIO()
    configure_logging("human", stream=out, environ={})

    with logger.contextualize(merchant="acme", channel="shopify-main", flow="orders"):
        logger.bind(record="1042").warning("order parked: no shipping method")
    logger.info("no context here")

    first, second = lines(out)
    assert re.match(
        r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} WARNING acme/shopify-main/orders record=1042 \| order parked",
        first,
    )
    assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} INFO    \| no context here$", second)


def test_human_line_omits_timestamp_under_journald() -> None:
    out = io.StringIO()
    configure_logging("human", stream=out, environ={"JOURNAL_STREAM": "8:12345"})

    with logger.contextualize(merchant="acme", channel=None, flow="shipments"):
        logger.info("applied 2 shipments")

    assert lines(out) == ["INFO    acme/-/shipments | applied 2 shipments"]


@pytest.mark.parametrize("fmt", ["human", "json"])
def test_registered_secret_never_reaches_the_output(fmt: str) -> None:
    register(SECRET)
    out = io.StringIO()
    configure_logging(fmt, stream=out, environ={})  # type: ignore[arg-type]

    logger.info(f"calling with token {SECRET}")
    logger.bind(header=f"X-Shopify-Access-Token: {SECRET}", secret=Secret(SECRET, "env:TOKEN")).info("bound")
    try:
        raise RuntimeError(f"rejected token {SECRET}")
    except RuntimeError:
        logger.exception("request failed")
    logging.getLogger("aiohttp.client").warning("connection to ?token=%s failed", SECRET)

    text = out.getvalue()
    assert SECRET not in text
    assert text.count("***") >= 4
    assert "RuntimeError" in text  # the traceback itself is kept


def test_traceback_shows_no_local_variables() -> None:
    out = io.StringIO()
    configure_logging("human", stream=out, environ={})

    def fail() -> None:
        password = "hunter2-local-value"  # noqa: F841 - must not appear via diagnose
        raise ValueError("bad")

    try:
        fail()
    except ValueError:
        logger.exception("failed")

    assert "hunter2-local-value" not in out.getvalue()
    assert "ValueError: bad" in out.getvalue()


def test_stdlib_logging_is_routed_at_warning_and_above() -> None:
    out = io.StringIO()
    configure_logging("json", stream=out, environ={})

    logging.getLogger("apscheduler.scheduler").info("Added job")
    logging.getLogger("aiohttp.access").warning("slow client")

    (line,) = lines(out)
    document = orjson.loads(line)
    assert (document["level"], document["message"], document["logger_name"]) == (
        "WARNING",
        "slow client",
        "aiohttp.access",
    )


def test_python_warnings_become_log_lines() -> None:
    out = io.StringIO()
    configure_logging("json", stream=out, environ={})

    warnings.warn("runtime dir missing", RuntimeWarning, stacklevel=1)

    (line,) = lines(out)
    document = orjson.loads(line)
    assert document["level"] == "WARNING"
    assert "RuntimeWarning: runtime dir missing" in document["message"]


def test_level_filters_and_reconfiguring_replaces_the_sink() -> None:
    first = io.StringIO()
    configure_logging("human", "WARNING", stream=first, environ={})
    logger.info("dropped")
    second = io.StringIO()
    configure_logging("human", "DEBUG", stream=second, environ={})
    logger.debug("kept")

    assert first.getvalue() == ""
    assert lines(second)[0].endswith("DEBUG   | kept")


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown log format"):
        configure_logging("xml")  # type: ignore[arg-type]
