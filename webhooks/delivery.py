"""One try of a delivery: the task the dispatcher queues for each due delivery.

The message leaves through the one way out (lib/outbound.py), which connects only to public
addresses, pinned at connect, unless the operator named the host in KLING_WEBHOOK_ALLOWED_HOSTS:
an address that was public when the endpoint was registered and points inside now (a DNS answer
changed, the allowed list shrank) is refused before any connection, and the try says so. Only
the first ANSWER_READ bytes of an answer are read and ANSWER_KEPT of them kept; each try has
KLING_WEBHOOK_TIMEOUT seconds in all.

Every try is recorded. A try answered 2xx delivers; any other outcome is tried again on the
schedule with the same `webhook-id` and body (a new timestamp and signature); when the tries are
used up the delivery fails and the endpoint is switched off, its owner told (webhooks/notices.py).
"""

import logging
import time

import requests
import urllib3
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from lib import outbound, standard_webhooks
from webhooks import notices
from webhooks.models import ANSWER_KEPT, ANSWER_READ, Attempt, Delivery

log = logging.getLogger(__name__)

USER_AGENT = "KlingStudio-Webhooks/1"


def deliver(delivery_id):
    """Task: make the delivery's next try, if it is still due and ours to make."""
    delivery = Delivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    now = timezone.now()
    if delivery is None or not delivery.endpoint.enabled:
        return
    if delivery.attempts >= delivery.max_tries:
        # the last try's worker died: nothing more is owed
        _give_up(delivery, now)
        return
    if not delivery.start_attempt(now):
        return
    attempt = attempt_once(delivery)
    now = timezone.now()
    if attempt.succeeded:
        delivery.delivered(now)
    elif not delivery.try_failed(now):
        _give_up(delivery, now)


def attempt_once(delivery):
    """Send the delivery once and record the try (its number is `delivery.attempts`)."""
    endpoint, body = delivery.endpoint, delivery.body.encode()
    timestamp = int(timezone.now().timestamp())
    headers = {"content-type": "application/json", "user-agent": USER_AGENT,
               **standard_webhooks.headers(endpoint.secret, delivery.message_id, timestamp, body)}
    started, clock = timezone.now(), time.monotonic()
    status_code, error, answer = None, "", ""
    http = outbound.Session(trust=settings.KLING_WEBHOOK_ALLOWED_HOSTS, configured=False)
    try:
        response = outbound.send(http, "POST", endpoint.url, data=body, headers=headers,
                                 seconds=settings.KLING_WEBHOOK_TIMEOUT, max_bytes=ANSWER_READ,
                                 cut=True)
        status_code = response.status_code
        answer = response.content[:ANSWER_KEPT].decode("utf-8", "replace")
        if not 200 <= status_code < 300:
            error = f"The receiver answered HTTP {status_code}, not a 2xx success."
    except outbound.Refused as refused:
        error = (f"Not sent: the address points inside a private network ({refused}), where "
                 "webhooks never go. Use an address on the internet.")
    except outbound.TooSlow:
        error = (f"No complete answer within {settings.KLING_WEBHOOK_TIMEOUT} seconds. Answer "
                 "quickly (do the work after answering).")
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError, ValueError) as e:
        error = f"Could not reach the receiver ({_reason(e)})."
    finally:
        http.close()
    return Attempt.objects.create(
        delivery=delivery, number=delivery.attempts, started_at=started,
        milliseconds=int((time.monotonic() - clock) * 1000), status_code=status_code,
        error=error, answer=answer)


def _reason(error):
    # an SSLError is a ConnectionError too: the narrower one first
    if isinstance(error, requests.exceptions.SSLError):
        return "its HTTPS certificate was not accepted"
    if isinstance(error, requests.ConnectionError):
        return "the connection was refused or dropped"
    return type(error).__name__


def _give_up(delivery, now):
    with transaction.atomic():
        delivery._settle(status=Delivery.Status.FAILED, finished_at=now, next_attempt_at=None)
        endpoint = delivery.endpoint
        reason = (f"Switched off on {now:%d %b %Y at %H:%M} UTC: a “{delivery.event}” message "
                  f"was tried {delivery.attempts} times over about a day and never answered "
                  "with a 2xx success. Check the tries below, fix the receiver, then switch it "
                  "on again.")
        if endpoint.switch_off(reason):
            transaction.on_commit(lambda: notices.tell_switched_off(endpoint.pk))
    log.info("Webhook delivery %s failed; endpoint %s switched off", delivery.pk, endpoint.pk)
