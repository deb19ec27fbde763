"""Log lines as Elastic Common Schema JSON on stdout, which Fluentd ships to Elasticsearch as
they are (the seed's logging stack): `@timestamp`, `log.level`, `message`, `ecs.version`,
`service.name`, and per request `trace.id`/`http.request.id`, `http.request.method`,
`url.path`, `http.response.status_code`, `event.duration` (ns). Libraries that log through
`logging` (uvicorn, procrastinate, SQLAlchemy) come out the same way.

Every line passes `redact` first: values under sensitive names (passwords, tokens, secrets,
badge codes, Authorization) are replaced, and bearer tokens, JWTs, URL passwords and
SQLAlchemy's echoed statement parameters are cut out of any text, tracebacks included.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson
import structlog

REDACTED = "[REDACTED]"
_SENSITIVE_KEY = re.compile(
    r"pass(word|wd)?|token|secret|authori[sz]ation|cookie|api[_-]?key|credential|"
    r"code_data|badge_code|pairing_code|private|signature",
    re.IGNORECASE,
)
_SAFE_KEYS = frozenset({"token_type", "tokens_revoked"})
_SENSITIVE_TEXT = (
    # SQLAlchemy appends the bound values of a failed statement: emails, hashes, badge codes.
    (re.compile(r"\[parameters: .*?\](?=\n|$|\s\()", re.DOTALL), "[parameters: [REDACTED]]"),
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+"), r"\1 [REDACTED]"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), REDACTED),
    (re.compile(r"(://[^:/@\s]+:)[^@\s]+@"), r"\1[REDACTED]@"),
)


_TEXT_MARKERS = ("[parameters:", "earer", "eyJ", "://")


def redact_text(text: str) -> str:
    # The substring test first: most values (paths, methods, names) contain none of the
    # markers, and this runs for every value of every line, the request line included.
    if not any(marker in text for marker in _TEXT_MARKERS):
        return text
    for pattern, replacement in _SENSITIVE_TEXT:
        text = pattern.sub(replacement, text)
    return text


@lru_cache(maxsize=4096)
def _sensitive_key(key: str) -> bool:
    return key not in _SAFE_KEYS and _SENSITIVE_KEY.search(key) is not None


def _redact_value(key: str, value: Any) -> Any:
    if _sensitive_key(key):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(key, v) for v in value]
    return value


def redact(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> Any:
    for key in list(event_dict):
        event_dict[key] = _redact_value(key, event_dict[key])
    return event_dict


# ECS field sets that are objects: a plain value under one of these names would make
# Elasticsearch refuse the document (mapper conflict), so it moves to the set's usual field.
_ECS_SCALARS = {  # ("event" is structlog's message key: the renderer makes it `message`)
    "error": "error.message",
    "url": "url.full",
    "path": "url.path",
    "request_id": "http.request.id",
    "user": "user.id",
    "client": "client.address",
    "host": "host.name",
    "service": "service.name",
    "process": "process.name",
    "file": "file.path",
    "http": "http.version",
    "log": "log.original",
    "trace": "trace.id",
}


def ecs_fields(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> Any:
    for name, target in _ECS_SCALARS.items():
        if name in event_dict and not isinstance(event_dict[name], dict):
            event_dict.setdefault(target, event_dict.pop(name))
    return event_dict


ECS_VERSION = "8.11.0"


def render_ecs(_logger: Any, method: str, event_dict: MutableMapping[str, Any]) -> str:
    """One ECS JSON line: dotted names become nested objects, as Elasticsearch maps them.

    Our own renderer rather than ecs-logging's: that one cost ~5x more per line (measured in
    bench/observability.py), and the request line is written for every scan."""
    out: dict[str, Any] = {
        "@timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "log.level": "warning" if method == "warn" else method,
        "message": str(event_dict.pop("event", "")),
        "ecs.version": ECS_VERSION,
    }
    if "exception" in event_dict:
        event_dict["error.stack_trace"] = event_dict.pop("exception")
    for key, value in event_dict.items():
        if "." not in key:
            if isinstance(out.get(key), dict) and isinstance(value, dict):
                out[key].update(value)
            else:
                out[key] = value
            continue
        *parents, leaf = key.split(".")
        node = out
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):  # a plain value already there: keep the dotted key
                node = out
                leaf = key
                break
            node = child
        node[leaf] = value
    return orjson.dumps(out, default=str).decode()


def _service(name: str) -> structlog.types.Processor:
    def add(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> Any:
        event_dict.setdefault("service.name", name)
        return event_dict

    return add


def _stdlib_fields(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> Any:
    # A `logging` record's logger name, under its ECS name.
    record = event_dict.get("_record")
    if record is not None:
        event_dict.setdefault("log.logger", record.name)
    event_dict.pop("color_message", None)  # uvicorn's ANSI copy of the message
    return event_dict


class _RequestLine:
    """The one line per request, written without structlog's processor chain: it is the only
    line on the scan path, and the chain (context merge, exc_info, redaction of every key)
    cost several times the rendering itself. Same fields, same renderer, same redaction of
    the one free-form value (the path)."""

    def __init__(self) -> None:
        self.min_level = logging.INFO
        self.service = "tapwork"
        self.json = True

    def __call__(self, level: int, fields: dict[str, Any]) -> None:
        if level < self.min_level:
            return
        name = "debug" if level < logging.INFO else "info" if level < logging.WARNING else "error"
        if not self.json:
            getattr(structlog.get_logger("tapwork.access"), name)("request", **fields)
            return
        fields["url.path"] = redact_text(fields.get("url.path", ""))
        fields["service.name"] = self.service
        fields["event"] = "request"
        sys.stdout.write(render_ecs(None, name, fields) + "\n")


request_line = _RequestLine()


def configure_logging(level: str = "INFO", *, json: bool = True, service: str = "tapwork") -> None:
    numeric = logging.getLevelName(level.upper())
    request_line.min_level, request_line.service, request_line.json = numeric, service, json
    pre: list[structlog.types.Processor] = [structlog.contextvars.merge_contextvars]
    tail: list[structlog.types.Processor]
    if json:
        tail = [structlog.processors.format_exc_info, redact, ecs_fields, _service(service)]
        renderer: structlog.types.Processor = render_ecs
    else:
        tail = [
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact,
        ]
        renderer = structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[*pre, *tail, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stdout),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=[
                *pre,
                _stdlib_fields,
                structlog.stdlib.ExtraAdder(),
                *tail,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    # uvicorn's loggers keep their own handlers unless told not to: theirs go through ours.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        named = logging.getLogger(name)
        named.handlers[:] = []
        named.propagate = True
