"""WSGI entry point (gunicorn klingstudio.wsgi, and runserver through WSGI_APPLICATION).

The web server refuses a request larger than KLING_MAX_REQUEST_MB before anything reads its body:
a submission carries at most a few images of 10 MB, and nobody should be able to make the server
spool gigabytes to disk. The API (/api/) is told so in its own JSON shape, the pages in a page.
"""

import json
import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.utils.html import escape

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "klingstudio.settings")

TOO_LARGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Too much at once · Kling Studio</title></head><body>
<h1>Too much to send at once</h1>
<p>This submission is {size} MB. Kling Studio takes at most {limit} MB at a time: each image can
be up to 10 MB, and together they must stay under {limit} MB. Nothing was sent or charged.</p>
<p>Go back, choose smaller images (a JPG of a few MB is plenty for Kling), and send it again.</p>
<p><a href="{back}">Back</a></p></body></html>"""
TOO_LARGE_API = ("This request is {size} MB; Kling Studio takes at most {limit} MB at a time (each "
                 "image up to 10 MB). Nothing was sent or charged: send smaller images.")


def limit_request_size(app, limit_bytes):
    def limited(environ, start_response):
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length <= limit_bytes:
            return app(environ, start_response)
        size, limit = f"{length / 2**20:.0f}", limit_bytes // 2**20
        if environ.get("PATH_INFO", "").startswith("/api/"):
            kind, body = "application/json", json.dumps({"message": TOO_LARGE_API.format(
                size=size, limit=limit), "errors": {}}).encode()
        else:
            kind, body = "text/html; charset=utf-8", TOO_LARGE.format(
                size=size, limit=limit, back=escape(environ.get("PATH_INFO", "/"))).encode()
        # the body is never read: the server closes the connection after this answer
        start_response("413 Content Too Large", [("Content-Type", kind),
                                                 ("Content-Length", str(len(body))),
                                                 ("Connection", "close")])
        return [body]

    return limited


application = limit_request_size(get_wsgi_application(),
                                 settings.KLING_MAX_REQUEST_MB * 1024 * 1024)
