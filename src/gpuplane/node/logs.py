"""Structured log lines for the node agent: one JSON object per line, fields beside the message.

Node agents run as DaemonSets whose logs go to a collector; one JSON object per line keeps
fields (resource, device, xid) searchable there without parsing prose.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, TextIO

LOGGER = "gpuplane.node"
_FIELDS = "fields"


def get_logger() -> logging.Logger:
    return logging.getLogger(LOGGER)


def log_event(logger: logging.Logger, level: int, message: str, **fields: Any) -> None:
    """Log `message` with `fields` kept apart, for the JSON formatter to write as keys."""
    logger.log(level, message, extra={_FIELDS: fields})


class JsonFormatter(logging.Formatter):
    """{"ts": ..., "level": ..., "logger": ..., "msg": ..., <fields>} on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, _FIELDS, None)
        if isinstance(fields, dict):
            for key, value in fields.items():
                line.setdefault(key, value)
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure(level: str = "info", stream: TextIO | None = None) -> logging.Logger:
    """Send the agent's logs, as JSON lines, to `stream` (stderr by default)."""
    logger = get_logger()
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    logger.handlers[:] = [handler]
    logger.setLevel(level.upper())
    logger.propagate = False
    return logger
