"""Secrets that travel in URLs never reach a log line.

Callback tokens, signed image links and staged-upload tokens are path segments; anyone who reads
them can act on a job or see an image. A personal API token travels in a header, but a tool may
also put one into a URL or an error, so anything shaped like one is cut too (its visible prefix
stays). Every log handler filters its records through `RedactTokens`, and gunicorn's access log
writes through `redact` too (klingstudio/gunicorn.py). This module imports nothing from Django,
so the logging configuration can load it first.
"""

import logging
import re

SECRET_PATHS = re.compile(r"(/(?:shortapi/callback|i|uploads)/)[^/\s?#\"']+")
# a personal API token (`kst_` and 43 URL-safe characters) anywhere in a line
API_TOKENS = re.compile(r"\b(kst_[A-Za-z0-9_-]{6})[A-Za-z0-9_-]{10,}")
REDACTED = "[redacted]"


def redact(text):
    return API_TOKENS.sub(rf"\g<1>{REDACTED}", SECRET_PATHS.sub(rf"\g<1>{REDACTED}", text))


class RedactTokens(logging.Filter):
    """Rewrite a record's message (and traceback) with every secret path segment redacted."""

    def filter(self, record):
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
