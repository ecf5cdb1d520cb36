"""A personal API token: a person's standing permission for their own tools to act as them.

Only the SHA-256 digest of the secret is kept (the secret is random and long, so a fast hash is
the right one: there is nothing to guess), with a short visible prefix to tell tokens apart. The
secret itself is shown once, when it is made. A revoked token stays (the most recent few) so that
a tool still using it is told it was revoked rather than that it never existed.

Every change is a conditional UPDATE, as for jobs: revoking twice, or two requests noting the
last use in the same minute, write once.
"""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

# Active tokens one person may hold, and revoked ones kept to answer "revoked" in words.
MAX_TOKENS = 20
KEEP_REVOKED = 20
NAME_LENGTH = 80
# The last use is written at most this often, not on every request.
LAST_USED_STEP = timedelta(minutes=1)


def digest(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at=None)


class Token(models.Model):
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                               related_name="api_tokens")
    name = models.CharField(max_length=NAME_LENGTH,
                            help_text="What the token is for, e.g. “Render script”.")
    prefix = models.CharField(max_length=16, help_text="The secret's first characters, shown "
                                                       "to tell tokens apart.")
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = TokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["person", "revoked_at"], name="api_token_person")]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def revoked(self):
        return self.revoked_at is not None

    @classmethod
    def refusal_of_another(cls, person):
        """Why `person` may not make another token, or ""."""
        if cls.objects.filter(person=person).active().count() >= MAX_TOKENS:
            return (f"You have {MAX_TOKENS} tokens, as many as one person may hold. Revoke one "
                    "you no longer use, then make the new one.")
        return ""

    def revoke(self, now=None):
        """Revoke the token; False if it already was. Revoked tokens beyond the most recent
        KEEP_REVOKED of the person's are forgotten."""
        now = now or timezone.now()
        won = Token.objects.filter(pk=self.pk, revoked_at=None).update(revoked_at=now) == 1
        if won:
            self.revoked_at = now
            stale = (Token.objects.filter(person_id=self.person_id).exclude(revoked_at=None)
                     .order_by("-revoked_at", "-id").values_list("pk", flat=True)[KEEP_REVOKED:])
            Token.objects.filter(pk__in=list(stale)).delete()
        return won

    def note_use(self, now=None):
        """Record that the token was used now, unless that was written in the last minute."""
        now = now or timezone.now()
        if self.last_used_at is not None and now - self.last_used_at < LAST_USED_STEP:
            return False
        fresh = Q(last_used_at=None) | Q(last_used_at__lt=now - LAST_USED_STEP)
        won = Token.objects.filter(fresh, pk=self.pk).update(last_used_at=now) == 1
        if won:
            self.last_used_at = now
        return won
