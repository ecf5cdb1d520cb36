"""Serving stored files (frames, posters, element images, kept videos) to whoever a view allows.

Views decide who may have a file; this answers the way a static file server does, so every
browser plays every video: a byte range gets 206 with `Content-Range` (416 for one past the
end), `Accept-Ranges: bytes` says ranges work, and `ETag`/`Last-Modified` with private caching
let a revisit cost a 304 instead of the bytes. Stored names are never reused (every file gets a
fresh random name), so a name and its size identify the content.

With object storage the browser is sent instead to a presigned link that expires in minutes: the
bucket answers ranges itself and no app thread is held for a whole video. The redirect may be
cached privately for almost as long, so a revisit reuses the link and the bytes behind it.

`local_path` hands a stored file to readers that want a path on this machine (PyAV): the file
itself on local storage, a temporary copy streamed down from a bucket otherwise.
"""

import hashlib
import os
import shutil
import tempfile
from contextlib import contextmanager

from botocore.exceptions import ClientError
from django.conf import settings
from django.core.files.storage import default_storage
from django.http import (FileResponse, Http404, HttpResponse, HttpResponseRedirect,
                         StreamingHttpResponse)
from django.http.response import HttpResponseBase
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date, quote_etag

from lib import ranges

CHUNK = 64 * 1024


def serve(request, name, content_type, *, filename=None, attachment=False, max_age=3600,
          presign=True):
    """The stored file `name` as a response to `request`, or 404 when it is not stored.
    `presign=False` serves the bytes through the app even from object storage (for readers who
    may not reach the bucket)."""
    if not name:
        raise Http404("No such file")
    if settings.OBJECT_STORAGE and presign:
        return _presigned(name, content_type, filename, attachment, max_age)
    if not default_storage.exists(name):
        raise Http404("No such file")
    size = default_storage.size(name)
    modified = default_storage.get_modified_time(name)
    etag = quote_etag(hashlib.sha256(f"{name}:{size}".encode()).hexdigest()[:32])
    last_modified = int(modified.timestamp())

    response: HttpResponseBase | None = get_conditional_response(
        request, etag=etag, last_modified=last_modified)
    if response is None:
        wanted = ranges.byte_range(request.headers.get("Range", ""), size)
        if wanted is not None and request.headers.get("If-Range", etag) not in (
                etag, http_date(last_modified)):
            wanted = None  # the copy the browser holds is another one: send it all
        if wanted is False:
            response = HttpResponse(status=416, content_type=content_type)
            response["Content-Range"] = f"bytes */{size}"
        elif wanted:
            first, last = wanted
            response = StreamingHttpResponse(_part(name, first, last), status=206,
                                             content_type=content_type)
            response["Content-Length"] = str(last - first + 1)
            response["Content-Range"] = f"bytes {first}-{last}/{size}"
        else:
            response = FileResponse(default_storage.open(name, "rb"), content_type=content_type,
                                    as_attachment=attachment, filename=filename)
    if filename and "Content-Disposition" not in response:
        kind = "attachment" if attachment else "inline"
        response["Content-Disposition"] = f'{kind}; filename="{filename}"'
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = etag
    response["Last-Modified"] = http_date(last_modified)
    patch_cache_control(response, private=True, max_age=max_age)
    return response


def _presigned(name, content_type, filename, attachment, max_age):
    parameters = {"ResponseContentType": content_type}
    if filename:
        kind = "attachment" if attachment else "inline"
        parameters["ResponseContentDisposition"] = f'{kind}; filename="{filename}"'
    # object storage (django-storages' S3) signs these into the link
    url = default_storage.url(name, parameters=parameters)  # type: ignore[call-arg]
    response = HttpResponseRedirect(url)
    patch_cache_control(response, private=True,
                        max_age=min(max_age, max(0, settings.KLING_PRESIGNED_URL_SECONDS - 60)))
    return response


def _part(name, first, last):
    with default_storage.open(name, "rb") as handle:
        yield from ranges.part(handle, first, last, CHUNK)


def local_file(name, storage=None):
    """The path of the stored file `name` when storage is this machine's disk, else None (it
    would have to be fetched from a bucket, which is a worker's job)."""
    storage = storage or default_storage
    try:
        return storage.path(name)
    except NotImplementedError:
        return None


@contextmanager
def local_path(name, storage=None):
    """A path on this machine to the stored file `name`, for as long as the block runs: the file
    itself on local storage, else a temporary copy streamed from the bucket in parts and deleted
    afterwards. OSError when it is not stored.

    The copy comes through boto3's transfer, never through the storage's own file object: that
    one holds the whole file in memory (django-storages' AWS_S3_MAX_MEMORY_SIZE is 0, unlimited,
    by default)."""
    storage = storage or default_storage
    try:
        path = storage.path(name)
    except NotImplementedError:
        path = None
    if path is not None:
        if not os.path.exists(path):
            raise FileNotFoundError(name)
        yield path
        return
    with tempfile.NamedTemporaryFile(suffix=os.path.splitext(name)[1]) as copy:
        _download(storage, name, copy)
        copy.flush()
        yield copy.name


def _download(storage, name, handle):
    bucket = getattr(storage, "bucket", None)
    if bucket is None:  # some other remote storage: its own file object, a chunk at a time
        with storage.open(name, "rb") as source:
            shutil.copyfileobj(source, handle, CHUNK)
        return
    key = f"{storage.location.rstrip('/')}/{name}" if storage.location else name
    try:
        bucket.download_fileobj(key, handle, Config=storage.transfer_config)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
            raise FileNotFoundError(name) from error
        raise
