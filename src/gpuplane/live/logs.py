"""Structured logs for the scheduler: logfmt lines by default, JSON lines on request.

logfmt, because it is what klog's structured text format looks like and what platform engineers
already grep in `kubectl logs` of kube-scheduler: a quoted message, then `key="value"` pairs
(strings quoted, numbers and booleans bare), one event a line:

    ts=2026-11-29T22:07:01.042Z level=info logger=gpuplane.live.leader msg="new leader" who="a_1f"

JSON lines (`fmt="json"`) are for clusters whose log collector indexes fields; they carry the
same keys as the node agent's (ts, level, logger, msg, then the fields), so one query reads both.
Fields ride on a record as `extra=fields(key=value, ...)` (or `log_event`).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, TextIO

LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
FORMATS = ("logfmt", "json")
_FIELDS = "fields"
_OURS = "_gpuplane_live_handler"  # marks the handler setup_logging installed, to replace it


def fields(**values: Any) -> dict[str, Any]:
    """`extra=` for a log call: these keys follow the message on the line."""
    return {_FIELDS: values}


def log_event(logger: logging.Logger, level: int, message: str, **values: Any) -> None:
    """Log `message` with `values` as structured fields."""
    logger.log(level, message, extra=fields(**values))


def _keys(record: logging.LogRecord) -> dict[str, Any]:
    """The line's keys in order: time, level, logger, message, fields, error."""
    ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    line: dict[str, Any] = {
        "ts": f"{ts}.{int(record.msecs):03d}Z",
        "level": record.levelname.lower(),
        "logger": record.name,
        "msg": record.getMessage(),
    }
    extra = getattr(record, _FIELDS, None)
    if isinstance(extra, dict):
        for key, value in extra.items():
            line.setdefault(str(key), value)
    return line


class LogfmtFormatter(logging.Formatter):
    """key=value pairs on one line, klog's quoting: strings quoted and escaped, numbers bare."""

    def format(self, record: logging.LogRecord) -> str:
        line = _keys(record)
        if record.exc_info:
            line["err"] = self.formatException(record.exc_info)
        return " ".join(f"{key}={_value(key, value)}" for key, value in line.items())


class JsonFormatter(logging.Formatter):
    """One JSON object per line with the same keys as the logfmt line."""

    def format(self, record: logging.LogRecord) -> str:
        line = _keys(record)
        if record.exc_info:
            line["err"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def _value(key: str, value: Any) -> str:
    if key in ("ts", "level", "logger"):
        return str(value)  # never contain spaces or quotes; bare, as klog's header is
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if value is None:
        return "null"
    # json.dumps quotes and escapes (", \\, newlines) the way klog's text format does.
    return json.dumps(str(value), ensure_ascii=False)


def setup_logging(level: str = "info", fmt: str = "logfmt", stream: TextIO | None = None) -> None:
    """Send every log record at `level` or above to `stream` (stderr) in `fmt`.

    Replaces what an earlier call installed. The HTTP client's per-request lines show only at
    debug: at info a busy scheduler would log every watch and binding twice.
    """
    if level not in LEVELS:
        raise ValueError(f"--log-level must be one of {', '.join(LEVELS)}, not {level!r}")
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(LogfmtFormatter() if fmt == "logfmt" else JsonFormatter())
    setattr(handler, _OURS, True)
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if not getattr(h, _OURS, False)] + [handler]
    root.setLevel(LEVELS[level])
    logging.getLogger("httpx2").setLevel(
        logging.DEBUG if level == "debug" else logging.WARNING
    )
