"""gpuplane.live.logs: logfmt (klog-style key="value") and JSON lines, filtered by --log-level."""

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from gpuplane.live.logs import fields, log_event, setup_logging


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    httpx_level = logging.getLogger("httpx2").level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("httpx2").setLevel(httpx_level)


def test_logfmt_quotes_strings_and_leaves_numbers_bare(restore_logging: None) -> None:
    out = io.StringIO()
    setup_logging("info", stream=out)
    log = logging.getLogger("gpuplane.live.test")
    log.info("bound pod", extra=fields(pod="ml/train-0", node="gpu-1", gpus=2, score=0.5))
    log_event(log, logging.WARNING, 'said "no"', reason="line1\nline2", ok=False, why=None)
    first, second = out.getvalue().splitlines()
    assert re.fullmatch(
        r'ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=info logger=gpuplane\.live\.test '
        r'msg="bound pod" pod="ml/train-0" node="gpu-1" gpus=2 score=0\.5',
        first,
    )
    assert second.endswith(
        'level=warning logger=gpuplane.live.test msg="said \\"no\\"" reason="line1\\nline2" '
        "ok=false why=null"
    )


def test_log_level_filters_and_a_second_setup_replaces_the_first(
    restore_logging: None,
) -> None:
    out, again = io.StringIO(), io.StringIO()
    setup_logging("warning", stream=out)
    log = logging.getLogger("gpuplane.live.test")
    log.info("hidden")
    log.warning("shown")
    assert [line.split("msg=")[1] for line in out.getvalue().splitlines()] == ['"shown"']
    setup_logging("debug", stream=again)
    log.debug("now shown")
    logging.getLogger("httpx2").debug("request line")
    assert out.getvalue().count("\n") == 1  # the first handler is gone
    assert 'msg="now shown"' in again.getvalue() and 'msg="request line"' in again.getvalue()
    setup_logging("info", stream=again)
    logging.getLogger("httpx2").info("HTTP Request: GET /api/v1/pods")
    assert "HTTP Request" not in again.getvalue()  # the client's chatter only at debug


def test_json_lines_carry_the_same_keys(restore_logging: None) -> None:
    out = io.StringIO()
    setup_logging("error", fmt="json", stream=out)
    log = logging.getLogger("gpuplane.live.test")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        log.exception("bind failed", extra=fields(pod="ml/a", attempt=3))
    line = json.loads(out.getvalue())
    assert list(line) == ["ts", "level", "logger", "msg", "pod", "attempt", "err"]
    assert (line["level"], line["msg"], line["pod"], line["attempt"]) == (
        "error",
        "bind failed",
        "ml/a",
        3,
    )
    assert "RuntimeError: boom" in line["err"]


def test_unknown_level_or_format_is_refused() -> None:
    with pytest.raises(ValueError, match="--log-level must be one of debug, info, warning, error"):
        setup_logging("verbose")
    with pytest.raises(ValueError, match="log format must be one of logfmt, json"):
        setup_logging("info", fmt="xml")
