"""The one seam to ShortAPI: create a job, query a job, check the key.

Every call leaves through `lib.outbound` and has a total deadline. Every failure is a
`ShortAPIError` with a message a person can read and the flags the caller decides on:
`permanent` (trying again cannot help), `maybe_accepted` (a create call may have reached ShortAPI
and been charged even though no answer came back) and `key_refused`.

Answers are parsed into small typed objects here, leniently where the contract is vague and
public client code shows variations the seed pages do not: `status` as a number or a word
("succeeded"), the error text under `message`, `msg`, `error` or `info`, the result URL under
`videos` or `images`, and code 3000 ("upstream unstable"), which asks to try again. The key never
appears in a message or a log line.
"""

import json
import logging
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import requests
from django.conf import settings
from urllib3.exceptions import MaxRetryError, NewConnectionError

from jobs import outage
from lib import outbound

log = logging.getLogger(__name__)

PENDING, PROCESSING, SUCCEEDED, FAILED = 0, 1, 2, 3
# ShortAPI's "upstream unstable": nothing was made, and the same request may work later.
UPSTREAM_UNSTABLE = 3000
STATUS_WORDS = {
    PENDING: ("pending", "queued", "queueing", "waiting", "submitted", "created", "starting"),
    PROCESSING: ("processing", "running", "in_progress", "generating"),
    SUCCEEDED: ("succeeded", "success", "succeed", "successful", "completed", "complete",
                "done", "finished"),
    FAILED: ("failed", "fail", "failure", "error", "canceled", "cancelled", "timeout",
             "expired", "rejected"),
}
_STATUS_BY_WORD = {word: number for number, words in STATUS_WORDS.items() for word in words}
# How an error answer that names no HTTP 401 may still say the key was refused.
KEY_WORDS = re.compile(r"api[ _-]?key|invalid token|unauthori[sz]ed|authenticat", re.I)
# An id no job has, for asking ShortAPI something that costs nothing.
PROBE_JOB_ID = "kling-studio-key-check-0000"


class ShortAPIError(Exception):
    def __init__(self, message, *, permanent=False, maybe_accepted=False, retry_after=None,
                 key_refused=False, never_reached=False):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.maybe_accepted = maybe_accepted
        self.retry_after = retry_after
        self.key_refused = key_refused
        self.never_reached = never_reached


@dataclass(frozen=True)
class CreatedJob:
    job_id: str
    # None when the answer named no amount: the caller prices the job from the table
    amount: Decimal | None


@dataclass(frozen=True)
class JobState:
    status: int
    video_url: str = ""
    refunded: bool = False
    error: str = ""
    # what ShortAPI says the job cost, when its answer names it
    amount: Decimal | None = None

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
        self.session = session or outbound.Session(trust=[self.base_url])

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
        return CreatedJob(job_id=job_id, amount=_amount(data.get("amount")))

    def query(self, job_id) -> JobState:
        data = self._call("GET", "/api/v1/job/query", params={"id": job_id})
        status = _status(data.get("status")) if isinstance(data, dict) else None
        if status is None:
            raise ShortAPIError("ShortAPI's answer about the job had no status we understand.")
        result = data.get("result") if isinstance(data.get("result"), dict) else {}
        return JobState(
            status=status,
            video_url=_first_url(result, "videos") or _first_url(result, "images"),
            refunded=_true(data.get("refunded")) or _true(result.get("refunded")),
            error=_message(data) or _message(result),
            amount=_amount(data.get("amount", result.get("amount")), strict=False),
        )

    def check_key(self):
        """Ask about a job that does not exist: it costs nothing, and the answer says whether
        the key is accepted. Returns None when it is; raises ShortAPIError otherwise."""
        try:
            self._call("GET", "/api/v1/job/query", params={"id": PROBE_JOB_ID})
        except ShortAPIError as error:
            if error.key_refused or error.never_reached or not error.permanent:
                raise
            # "no such job": ShortAPI read the key and looked

    def _call(self, method, path, *, creating=False, **kwargs):
        """One request and its answer's `data`; every failure a ShortAPIError. What the call
        shows of ShortAPI's health is kept for the dispatcher (jobs/outage.py)."""
        try:
            data = self._request(method, path, creating=creating, **kwargs)
        except ShortAPIError as error:
            if error.permanent:
                outage.record_answer()
            else:
                outage.record_failure()
            raise
        outage.record_answer()
        return data

    def _request(self, method, path, *, creating=False, **kwargs):
        url = self.base_url + path
        headers = {"Authorization": f"Bearer {self._key}", "Accept": "application/json"}
        try:
            response = outbound.send(self.session, method, url, seconds=self.timeout,
                                     headers=headers, **kwargs)
        except outbound.Refused:
            raise ShortAPIError("ShortAPI's address points inside this network; an admin needs "
                                "to check SHORTAPI_BASE_URL.", never_reached=True) from None
        except requests.ConnectTimeout:
            raise ShortAPIError("Could not connect to ShortAPI in time.",
                                never_reached=True) from None
        except outbound.TooSlow:
            raise ShortAPIError("ShortAPI did not answer in time.",
                                maybe_accepted=creating) from None
        except requests.ConnectionError as error:
            if _never_reached(error):
                raise ShortAPIError("Could not connect to ShortAPI.", never_reached=True) from None
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
        code = body.get("code") if isinstance(body, dict) else None
        if status == 429:
            raise ShortAPIError("ShortAPI is busy and asked us to wait.",
                                retry_after=_retry_after(response))
        if code == UPSTREAM_UNSTABLE:
            raise ShortAPIError(f"ShortAPI says its upstream is unstable"
                                f"{': ' + message if message else ''}. Trying again later.",
                                retry_after=_retry_after(response))
        if status >= 500:
            raise ShortAPIError(f"ShortAPI had an internal error (HTTP {status}).",
                                maybe_accepted=creating, retry_after=_retry_after(response))
        if status in (401, 403) or code in (401, 403) or KEY_WORDS.search(message):
            raise ShortAPIError("ShortAPI did not accept the API key. An admin needs to check "
                                "SHORTAPI_KEY.", permanent=True, key_refused=True)
        if not isinstance(body, dict):
            raise ShortAPIError(f"ShortAPI sent an answer we cannot read (HTTP {status}).",
                                maybe_accepted=creating and status < 400)
        if status >= 400 or code != 0:
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


def _status(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str):
        word = value.strip().lower()
        if word.isascii() and word.isdigit():
            return int(word)
        return _STATUS_BY_WORD.get(word)
    return None


def _amount(value, strict=True):
    """A decimal amount, None when absent; an unreadable one is refused when `strict`."""
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount < 0:
        if strict:
            raise ShortAPIError(f"ShortAPI answered with an unreadable price ({value!r}).",
                                maybe_accepted=True)
        return None
    return amount


def _true(value):
    return value is True or value == 1 or (isinstance(value, str) and value.lower() == "true")


def _never_reached(error):
    """True when the request provably never left: refused connection, unknown host."""
    reason = error.args[0] if error.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError) or "Failed to resolve" in str(reason)


def _retry_after(response):
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None


def _message(body):
    if not isinstance(body, dict):
        return ""
    for key in ("message", "msg", "error", "info", "error_message", "detail", "reason"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, dict) and (nested := _message(value)):
            return nested
    return ""


def _first_url(result, key):
    items = result.get(key)
    if isinstance(items, list) and items:
        first = items[0]
        url = first.get("url") if isinstance(first, dict) else first
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            return url
    return ""
