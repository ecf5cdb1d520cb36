"""Making personal API tokens and recognising them on a request.

A secret is `kst_` and 43 random URL-safe characters (256 bits): the prefix lets a person (and a
secret scanner) tell a Kling Studio token at a glance. Only its digest is stored
(`api.models.Token`). A request names its token in `Authorization: Bearer <secret>` and nothing
else: no cookie, no session, so the API needs no CSRF token and a browser's sign-in never
stands in for a token. The request then acts as the token's person, `request.user`, under every
rule the pages apply to them.

The secret never reaches a log: ninja's own Bearer class logs a malformed header under DEBUG,
so the header is read here, and `lib.redact` also strips anything shaped like a secret.
"""

import secrets

from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.utils import formats
from ninja.security.base import AuthBase

from api.models import Token, digest

SECRET_PREFIX = "kst_"
SHOWN_PREFIX = 10  # "kst_" and six characters of the secret
MAX_SECRET_LENGTH = 200
WHERE = "Make one under Settings › API tokens in Kling Studio."


class Refused(Exception):
    """The request's token is missing, unknown or revoked: a 401 with these words."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def issue(person, name):
    """A new token for `person`: (the Token, its secret). The secret exists only in this
    answer; show it once."""
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = Token.objects.create(person=person, name=name, prefix=secret[:SHOWN_PREFIX],
                                     digest=digest(secret))
    return token, secret


def recognise(header):
    """The active token an Authorization header names; raises Refused, in words, otherwise."""
    scheme, _, secret = (header or "").strip().partition(" ")
    if not header:
        raise Refused("This request carries no API token. Send one in the Authorization header "
                      f"as “Bearer <token>”. {WHERE}")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Refused("The Authorization header must be “Bearer ” followed by your API token. "
                      + WHERE)
    secret = secret.strip()
    token = None
    if len(secret) <= MAX_SECRET_LENGTH:
        token = Token.objects.select_related("person").filter(digest=digest(secret)).first()
    if token is None:
        raise Refused("This API token is not one Kling Studio knows: it may be mistyped, or it "
                      f"was revoked long ago. Check it, or make a new one. {WHERE}")
    if token.revoked:
        when = formats.date_format(token.revoked_at, "j F Y")
        raise Refused(f"This API token (“{token.name}”) was revoked on {when}, so it no longer "
                      f"works. {WHERE}")
    if not token.person.is_active:
        raise Refused("The account this API token belongs to is switched off. Ask a Kling "
                      "Studio admin.")
    return token


class TokenAuth(AuthBase):
    """ninja's authentication: the request acts as the token's person."""

    openapi_type = "http"
    openapi_scheme = "bearer"

    def __call__(self, request):
        # a session cookie sent along must not count: only the token says who this is
        request.user = AnonymousUser()
        token = recognise(request.headers.get("Authorization", ""))
        token.note_use()
        request.user = token.person
        return token
