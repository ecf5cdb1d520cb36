"""The studio's rate limits: how many compositions, staged images, exports and callbacks an
address or a person may send in a window. Counting them is `lib.ratelimit`'s job."""

from django.conf import settings

from lib.ratelimit import Limit


def compose_limits():
    return (Limit("compose-person", settings.KLING_COMPOSE_PER_PERSON, 600),
            Limit("compose-address", settings.KLING_COMPOSE_PER_ADDRESS, 600))


def export_limit():
    return Limit("export-person", settings.KLING_EXPORTS_PER_HOUR, 3600)


def callback_limit():
    return Limit("callback-address", settings.KLING_CALLBACKS_PER_ADDRESS, 60)


def staging_limit():
    """Images a person may stage ahead of a video (the API's uploads) in 10 minutes: a start
    and an end frame and a couple of element images for each video they may send."""
    return Limit("staging-person", settings.KLING_COMPOSE_PER_PERSON * 4, 600)
