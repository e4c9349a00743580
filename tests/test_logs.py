"""leadcache.logs: formats, structured fields, redaction, idempotence, root left alone."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from leadcache.logs import (
    LOGGER_NAME,
    configure_logging,
    log_event,
    register_secret,
    reset_logging,
)
from leadcache.settings import Secret, Settings

KEY = "patQ1w2e3r4t5y6u7i8.f00dfeedf00dfeedf00dfeedf00dfeedf00dfeedf00dfeedf00dfeedf00dfeed"
ODD_SECRET = 'odd"sec\\ret-value'  # a secret that JSON escapes differently


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    yield
    reset_logging()


def _configure(fmt: str, level: str = "info") -> io.StringIO:
    buf = io.StringIO()
    configure_logging(level=level, fmt=fmt, stream=buf, secrets=[KEY, ODD_SECRET])
    return buf


def test_text_line_has_time_level_logger_message_and_fields() -> None:
    buf = _configure("text")
    log_event(logging.getLogger("leadcache.sync"), logging.INFO, "push done", pushed=12, calls=2)
    line = buf.getvalue()
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z "
        r"INFO leadcache\.sync push done pushed=12 calls=2\n",
        line,
    ), line


def test_text_quotes_values_that_need_it() -> None:
    buf = _configure("text")
    log_event(
        logging.getLogger("leadcache.sync"),
        logging.WARNING,
        "pull failed",
        error="connection refused",
        ok=False,
        retry=None,
        mode="formula",
    )
    assert (
        buf.getvalue()
        .rstrip("\n")
        .endswith('pull failed error="connection refused" ok=false retry=null mode=formula')
    )


def test_json_is_one_object_per_line_with_fields() -> None:
    buf = _configure("json")
    log = logging.getLogger("leadcache.sync")
    log_event(log, logging.INFO, "sync run", pulled=100, pushed=3, seconds=1.5)
    log.warning("plain %s", "message", extra={"fields": {"calls": 7}})
    lines = buf.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["level"] == "INFO" and first["logger"] == "leadcache.sync"
    assert first["msg"] == "sync run"
    assert (first["pulled"], first["pushed"], first["seconds"]) == (100, 3, 1.5)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", first["ts"])
    assert second["msg"] == "plain message" and second["calls"] == 7


def test_a_field_cannot_overwrite_the_envelope() -> None:
    buf = _configure("json")
    log_event(logging.getLogger("leadcache.x"), logging.INFO, "real", msg="fake", level="x")
    data = json.loads(buf.getvalue())
    assert (data["msg"], data["level"]) == ("real", "INFO")
    assert (data["field_msg"], data["field_level"]) == ("fake", "x")


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_secrets_never_reach_the_output(fmt: str) -> None:
    buf = _configure(fmt)
    log = logging.getLogger("leadcache.airtable")
    log.info(f"key in message {KEY}")
    log.info("key in an arg %s and %r", KEY, ODD_SECRET)
    log_event(
        log,
        logging.INFO,
        "key in fields",
        token=KEY,
        nested={"headers": {"Authorization": f"Bearer {KEY}"}, "list": [ODD_SECRET]},
        obj=RuntimeError(f"failed with {KEY}"),
    )
    log.info("plain extra", extra={"api_key": KEY})
    try:
        raise ConnectionError(f"401 for token {KEY} / {ODD_SECRET}")
    except ConnectionError:
        log.exception("request failed")
    out = buf.getvalue()
    assert KEY not in out
    assert ODD_SECRET not in out
    assert json.dumps(ODD_SECRET)[1:-1] not in out  # nor its JSON-escaped form
    assert repr(ODD_SECRET)[1:-1] not in out  # nor its repr() form (the %r above)
    assert "f00dfeed" not in out  # no fragment of the key either
    assert out.count("***") >= 8
    assert "ConnectionError" in out  # the exception is still logged, minus the secret


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_token_shapes_are_redacted_without_registration(fmt: str) -> None:
    buf = io.StringIO()
    configure_logging(level="info", fmt=fmt, stream=buf)
    unregistered = "patZZZZZZZZZZZZZZ.0123456789abcdef0123456789abcdef"
    log = logging.getLogger("leadcache.airtable")
    log.info("header Authorization: Bearer abc.def-ghi_jkl")
    log_event(log, logging.INFO, "token", value=unregistered)
    out = buf.getvalue()
    assert "abc.def-ghi_jkl" not in out and unregistered not in out
    assert "Bearer ***" in out


def test_the_api_key_of_settings_is_registered() -> None:
    other = "patSETTINGSKEY0001.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    settings = Settings(api_key=Secret(other), log_format="json", log_level="debug")
    buf = io.StringIO()
    configure_logging(settings, stream=buf)
    logging.getLogger("leadcache.cli").debug("using %s", other)
    assert json.loads(buf.getvalue())["msg"] == "using ***"


def test_registered_later_still_redacted() -> None:
    buf = _configure("text")
    register_secret("late-secret-123")
    logging.getLogger("leadcache").info("late-secret-123")
    assert "late-secret-123" not in buf.getvalue()


def test_level_filters_lines() -> None:
    buf = _configure("text", level="warning")
    log = logging.getLogger("leadcache.sync")
    log.info("hidden")
    log_event(log, logging.DEBUG, "hidden too", n=1)
    log.error("shown")
    assert [line.split(" ", 3)[3] for line in buf.getvalue().splitlines()] == ["shown"]


def test_idempotent_and_root_untouched() -> None:
    root = logging.getLogger()
    root_handlers, root_level = list(root.handlers), root.level
    first = io.StringIO()
    configure_logging(level="info", fmt="text", stream=first)
    second = io.StringIO()
    logger = configure_logging(level="info", fmt="json", stream=second)

    logging.getLogger("leadcache.store").info("once")

    assert logger.name == LOGGER_NAME
    assert len([h for h in logger.handlers if getattr(h, "_leadcache_handler", False)]) == 1
    assert first.getvalue() == ""
    assert len(second.getvalue().splitlines()) == 1
    assert root.handlers == root_handlers and root.level == root_level
    assert logger.propagate is False
    reset_logging()
    # Only the package's NullHandler (added on import, so agents get no stray stderr) remains.
    assert logger.propagate is True
    assert [h for h in logger.handlers if not isinstance(h, logging.NullHandler)] == []


def test_bad_format_args_do_not_break_the_caller() -> None:
    buf = _configure("text")
    logging.getLogger("leadcache").info("two %s %s", "only-one")  # noqa: PLE1206
    assert "unformattable" in buf.getvalue()


def test_invalid_choices_are_value_errors() -> None:
    with pytest.raises(ValueError, match="format"):
        configure_logging(fmt="xml")
    with pytest.raises(ValueError, match="level"):
        configure_logging(level="loud")


def test_text_line_does_not_repeat_a_field_the_message_states() -> None:
    buf = _configure("text")
    logging.getLogger("leadcache.sync").info(
        "push done pushed=12", extra={"fields": {"pushed": 12, "calls": 2}}
    )
    line = buf.getvalue()
    assert line.count("pushed=12") == 1 and line.rstrip().endswith("calls=2"), line


def test_text_lines_escape_terminal_controls() -> None:
    buf = _configure("text")
    logging.getLogger("leadcache.sync").warning(
        "lead %s refused", "Ada\x1b[2J\rX", extra={"fields": {"name": "B\x1b]0;t\x07"}}
    )
    line = buf.getvalue()
    assert "\x1b" not in line and "\r" not in line and "\x07" not in line
    assert "Ada\\x1b[2J\\x0dX" in line and line.count("\n") == 1
