"""Signing webhooks as Standard Webhooks (https://www.standardwebhooks.com/) says, so a receiver
can check them with any of its libraries.

A message carries three headers: `webhook-id` (the same on every try of one message, so the
receiver can drop a repeat), `webhook-timestamp` (whole seconds, of this try, so the receiver can
refuse a replay) and `webhook-signature`, `v1,` then the base64 HMAC-SHA256 of
"{id}.{timestamp}.{body}" keyed by the secret's bytes. A secret is `whsec_` and the base64 of 24
random bytes; the key is what that base64 decodes to. Nothing here knows what the messages say.
"""

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"
SECRET_BYTES = 24


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def new_message_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


def key_of(secret: str) -> bytes:
    """The signing key a `whsec_...` secret stands for."""
    text = secret[len(PREFIX):] if secret.startswith(PREFIX) else secret
    key = base64.b64decode(text, validate=True)
    if not key:
        raise ValueError("a webhook secret may not be empty")
    return key


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value for one try of a message."""
    signed = f"{message_id}.{int(timestamp)}.".encode() + body
    digest = hmac.new(key_of(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three headers of one try."""
    return {"webhook-id": message_id, "webhook-timestamp": str(int(timestamp)),
            "webhook-signature": sign(secret, message_id, timestamp, body)}
