"""Secrets that travel in URLs never reach a log line.

Callback tokens, signed image links and staged-upload tokens are path segments; anyone who reads
them can act on a job or see an image. Every log handler filters its records through
`RedactTokens`, and gunicorn's access log writes through `redact` too (klingstudio/gunicorn.py).
This module imports nothing from Django, so the logging configuration can load it first.
"""

import logging
import re

SECRET_PATHS = re.compile(r"(/(?:shortapi/callback|i|uploads)/)[^/\s?#\"']+")
REDACTED = "[redacted]"


def redact(text):
    return SECRET_PATHS.sub(rf"\g<1>{REDACTED}", text)


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
