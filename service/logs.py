"""Logging to stderr and to a size-rotated file, with secrets scrubbed from every line."""

from __future__ import annotations

import logging
import logging.handlers
import sys

from .config import Settings, python_log_level

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOGGERS = ("portagent", "sanic.root", "sanic.error", "sanic.server", "sanic.websockets")
MAX_LOG_BYTES = 10 * 1024 * 1024
KEEP_LOG_FILES = 5


class RedactSecrets(logging.Filter):
    """Replace any configured secret that reaches a log line (as a last line of defence: no
    code logs secrets on purpose)."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [secret for secret in secrets if len(secret) >= 8]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        exc_text = record.exc_text
        if record.exc_info and not exc_text:
            exc_text = logging.Formatter().formatException(record.exc_info)
        changed = False
        for secret in self._secrets:
            if secret in message:
                message = message.replace(secret, "[redacted]")
                changed = True
            if exc_text and secret in exc_text:
                exc_text = exc_text.replace(secret, "[redacted]")
                changed = True
        if changed:
            record.msg, record.args = message, None
            if exc_text:
                record.exc_info, record.exc_text = None, exc_text
        return True


def _handlers(settings: Settings) -> list[logging.Handler]:
    stream = logging.StreamHandler(sys.stderr)
    file = logging.handlers.RotatingFileHandler(
        settings.log_file, maxBytes=MAX_LOG_BYTES, backupCount=KEEP_LOG_FILES, encoding="utf-8"
    )
    redact = RedactSecrets(settings.secret_values())
    formatter = logging.Formatter(FORMAT)
    for handler in (stream, file):
        handler.setFormatter(formatter)
        handler.addFilter(redact)
        handler._portagent = True  # type: ignore[attr-defined]
    return [stream, file]


def setup_logging(settings: Settings) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_portagent", False):
            root.removeHandler(handler)
            handler.close()
    for handler in _handlers(settings):
        root.addHandler(handler)
    level = python_log_level(settings.log_level)
    root.setLevel(level)
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.propagate = True
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
    logging.getLogger("sanic.access").disabled = True
    # The SDK's HTTP stack logs full request lines at debug level; keep it at warnings.
    for noisy in ("httpx", "httpx2", "httpcore", "anthropic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
