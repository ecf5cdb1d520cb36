"""gunicorn's settings, as the Dockerfile runs it: `gunicorn klingstudio.wsgi -c
python:klingstudio.gunicorn`. Workers come from WEB_CONCURRENCY (gunicorn reads it), 4 threads
each; the access log goes to stdout with every secret path segment redacted."""

import os

from gunicorn.glogging import Logger

from lib.redact import redact


class AccessLog(Logger):
    """gunicorn's logger, writing no callback token or signed link into the access log."""

    def atoms(self, resp, req, environ, request_time):
        return {name: redact(value) if isinstance(value, str) else value
                for name, value in super().atoms(resp, req, environ, request_time).items()}


logger_class = AccessLog
accesslog = "-"
threads = 4
# heartbeat files in memory where there is /dev/shm (Linux, the Docker image)
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
