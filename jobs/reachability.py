"""Whether ShortAPI can reach this app, and so how images travel and how jobs are followed.

ShortAPI runs on the internet: it fetches images only from public addresses and calls back only
to public addresses. So images go as signed links, and callbacks are asked for, only when
PUBLIC_BASE_URL is an address the internet reaches (https, a name that resolves to public
addresses), or when the built-in simulator runs beside the app. Otherwise images travel inline in
the create request and jobs are polled. KLING_PUBLIC_URL_REACHABLE=yes or no overrides the check
(for example behind split-horizon DNS, where the name resolves to a private address inside the
office and a public one outside).

A combination that cannot work stops start-up (`check`), saying why and what to set.
"""

from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from lib import outbound


@dataclass(frozen=True)
class Delivery:
    """How this app works with ShortAPI, and why, in a person's words."""

    reachable: bool
    reason: str
    images: str  # "url", "data-uri" or "base64"
    callbacks: bool

    @property
    def images_explained(self):
        if self.images == "url":
            return ("Images are sent as signed links to this app that expire after "
                    f"{settings.KLING_IMAGE_URL_MAX_AGE // 3600 or 1} hour(s), because {self.reason}.")
        how = "data: URIs" if self.images == "data-uri" else "raw base64"
        if settings.KLING_IMAGE_TRANSPORT == "auto":
            return f"Images are sent inside each request ({how}), because {self.reason}."
        return f"Images are sent inside each request ({how}), as KLING_IMAGE_TRANSPORT says."

    @property
    def progress_explained(self):
        if self.callbacks:
            return (f"ShortAPI calls back to {settings.PUBLIC_BASE_URL} when a job changes, "
                    "and each job is also checked about once a minute in case a callback is "
                    f"lost, because {self.reason}.")
        return (f"Jobs are checked on (polled): after {settings.KLING_POLL_FIRST_SECONDS} "
                f"seconds, then less often, up to every {settings.KLING_POLL_MAX_SECONDS} "
                f"seconds, because {self.reason}, so no callback could arrive.")


def delivery() -> Delivery:
    """How images travel and whether callbacks are asked for, under the current settings."""
    return _delivery(settings.PUBLIC_BASE_URL, settings.KLING_PUBLIC_URL_REACHABLE,
                     settings.KLING_IMAGE_TRANSPORT, settings.SHORTAPI_SIMULATED)


@lru_cache(maxsize=16)
def _delivery(public_url, override, transport, simulated) -> Delivery:
    reachable, reason = _reachable(public_url, override, simulated)
    if transport == "auto":
        images = "url" if reachable else "data-uri"
    elif transport == "url" and not reachable:
        raise ImproperlyConfigured(
            f"KLING_IMAGE_TRANSPORT=url cannot work: {reason}, and ShortAPI fetches images only "
            "from public https addresses. Set KLING_IMAGE_TRANSPORT=auto (images then travel "
            "inside each request), or set PUBLIC_BASE_URL to this app's public https address.")
    else:
        images = transport
    return Delivery(reachable=reachable, reason=reason, images=images, callbacks=reachable)


def _reachable(public_url, override, simulated):
    if not public_url:
        return False, "PUBLIC_BASE_URL is not set, so ShortAPI has no address for this app"
    if override == "yes":
        return True, f"KLING_PUBLIC_URL_REACHABLE=yes says ShortAPI reaches {public_url}"
    if override == "no":
        return False, f"KLING_PUBLIC_URL_REACHABLE=no says ShortAPI cannot reach {public_url}"
    if simulated:
        return True, (f"the built-in simulator runs beside the app and reaches {public_url}")
    parts = urlsplit(public_url)
    if parts.scheme != "https":
        return False, (f"PUBLIC_BASE_URL ({public_url}) is not an https address, and ShortAPI "
                       "reaches only public https addresses")
    if not outbound.resolves_publicly(parts.hostname):
        return False, (f"{parts.hostname} (in PUBLIC_BASE_URL) does not resolve to public "
                       "internet addresses here: it is a private, local or unknown name")
    return True, f"{public_url} is https and resolves to public internet addresses"


def check():
    """Stop start-up with a clear message when the settings cannot work together."""
    delivery()
