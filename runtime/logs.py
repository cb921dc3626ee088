"""Logs on stderr: structured JSON, one object per line with any ``extra=`` fields (request_id, model, ...), for
machines (a container, a pipe, a file); on a terminal one human-readable line each (``configure(human=None)``
decides by whether stderr is a terminal)."""

from __future__ import annotations

import json
import logging
import sys
import time

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message", "asctime", "taskName", "color_message"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


class HumanFormatter(logging.Formatter):
    """``03:12:01 info  ready  http_port=8080 models=['quickstart']`` — the same fields as the JSON logs."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        fields = " ".join(f"{key}={value}" for key, value in record.__dict__.items()
                          if key not in _STANDARD and not key.startswith("_"))
        line = f"{stamp} {record.levelname.lower():<7} {record.getMessage()}" + (f"  {fields}" if fields else "")
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure(level: str = "info", human: bool | None = False) -> None:
    """Log at ``level`` on stderr: JSON, or human-readable lines when ``human`` (None: when stderr is a
    terminal)."""
    if human is None:
        human = sys.stderr.isatty()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(HumanFormatter() if human else JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("_granian", "granian.access"):  # the HTTP front end's loggers (also set up by http_transport)
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
