"""The one seam to ShortAPI: create a job, query a job, fetch a result.

Every call has a timeout. Every failure is a `ShortAPIError` with a message a person can read and
two flags the caller decides on: `permanent` (trying again cannot help) and `maybe_accepted`
(a create call may have reached ShortAPI and been charged even though no answer came back).
Responses are parsed into small typed objects here, leniently where the contract is vague
(error message field names, the result key). The key never appears in a message or a log line.
"""

import json
import logging
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import requests
from django.conf import settings
from urllib3.exceptions import MaxRetryError, NewConnectionError

log = logging.getLogger(__name__)

PENDING, PROCESSING, SUCCEEDED = 0, 1, 2


class ShortAPIError(Exception):
    def __init__(self, message, *, permanent=False, maybe_accepted=False, retry_after=None):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.maybe_accepted = maybe_accepted
        self.retry_after = retry_after


@dataclass(frozen=True)
class CreatedJob:
    job_id: str
    amount: Decimal


@dataclass(frozen=True)
class JobState:
    status: int
    video_url: str = ""
    refunded: bool = False
    error: str = ""

    @property
    def finished(self):
        return self.status >= SUCCEEDED

    @property
    def succeeded(self):
        return self.status == SUCCEEDED


class Client:
    def __init__(self, base_url=None, key=None, timeout=None, session=None):
        self.base_url = (base_url or settings.SHORTAPI_BASE_URL).rstrip("/")
        self._key = key or settings.SHORTAPI_KEY
        self.timeout = timeout or settings.SHORTAPI_TIMEOUT
        self.session = session or requests.Session()

    def __repr__(self):
        return f"<ShortAPI client {self.base_url}>"

    def create(self, model_id, args, callback_url=None) -> CreatedJob:
        body = {"model": model_id, "args": args}
        if callback_url:
            body["callback_url"] = callback_url
        data = self._call("POST", "/api/v1/job/create", json=body, creating=True)
        job_id = data.get("job_id") if isinstance(data, dict) else None
        if not isinstance(job_id, str) or not job_id:
            raise ShortAPIError("ShortAPI accepted the request but sent back no job id.",
                                maybe_accepted=True)
        try:
            amount = Decimal(str(data.get("amount", "0")))
        except InvalidOperation:
            raise ShortAPIError(f"ShortAPI answered with an unreadable price "
                                f"({data.get('amount')!r}).", maybe_accepted=True) from None
        return CreatedJob(job_id=job_id, amount=amount)

    def query(self, job_id) -> JobState:
        data = self._call("GET", "/api/v1/job/query", params={"id": job_id})
        if not isinstance(data, dict) or not isinstance(data.get("status"), int):
            raise ShortAPIError("ShortAPI's answer about the job had no status.")
        result = data.get("result") if isinstance(data.get("result"), dict) else {}
        return JobState(
            status=data["status"],
            video_url=_first_url(result, "videos") or _first_url(result, "images"),
            refunded=data.get("refunded") is True or result.get("refunded") is True,
            error=_message(data) or _message(result),
        )

    def _call(self, method, path, *, creating=False, **kwargs):
        url = self.base_url + path
        headers = {"Authorization": f"Bearer {self._key}", "Accept": "application/json"}
        try:
            response = self.session.request(method, url, headers=headers, timeout=self.timeout,
                                            **kwargs)
        except requests.ConnectTimeout:
            raise ShortAPIError("Could not connect to ShortAPI in time.") from None
        except requests.ConnectionError as error:
            if _never_reached(error):
                raise ShortAPIError("Could not connect to ShortAPI.") from None
            raise ShortAPIError("The connection to ShortAPI broke before it answered.",
                                maybe_accepted=creating) from None
        except requests.Timeout:
            raise ShortAPIError("ShortAPI did not answer in time.", maybe_accepted=creating) from None
        except requests.RequestException as error:
            raise ShortAPIError(f"The request to ShortAPI failed ({type(error).__name__}).",
                                maybe_accepted=creating) from None
        return self._parse(response, creating)

    def _parse(self, response, creating):
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        message = _message(body) if isinstance(body, dict) else ""
        if status == 429:
            raise ShortAPIError("ShortAPI is busy and asked us to wait.",
                                retry_after=_retry_after(response))
        if status >= 500:
            raise ShortAPIError(f"ShortAPI had an internal error (HTTP {status}).",
                                maybe_accepted=creating, retry_after=_retry_after(response))
        if status in (401, 403):
            raise ShortAPIError("ShortAPI did not accept the API key. An admin needs to check "
                                "SHORTAPI_KEY.", permanent=True)
        if not isinstance(body, dict):
            raise ShortAPIError(f"ShortAPI sent an answer we cannot read (HTTP {status}).",
                                maybe_accepted=creating and status < 400)
        if status >= 400 or body.get("code") != 0:
            raise ShortAPIError(message or f"ShortAPI refused the request (HTTP {status}).",
                                permanent=True)
        return body.get("data")


def callback_job_id(body: bytes) -> str | None:
    """The job id a callback body names, if any. Only a hint: it is confirmed by a query."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    for candidate in (data, data.get("data") if isinstance(data, dict) else None):
        if isinstance(candidate, dict):
            value = candidate.get("job_id") or candidate.get("id")
            if isinstance(value, str) and 0 < len(value) <= 200:
                return value
    return None


def _never_reached(error):
    """True when the request provably never left: refused connection, unknown host."""
    reason = error.args[0] if error.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError)


def _retry_after(response):
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None


def _message(body):
    if not isinstance(body, dict):
        return ""
    for key in ("message", "msg", "error", "error_message", "detail"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _first_url(result, key):
    items = result.get(key)
    if isinstance(items, list) and items and isinstance(items[0], dict):
        url = items[0].get("url")
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            return url
    return ""
