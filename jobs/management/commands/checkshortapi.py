"""`manage.py checkshortapi`: is the key accepted, and how will this app work with ShortAPI?

It asks ShortAPI about a job that does not exist, which costs nothing, and says in plain words
whether the key is accepted, how jobs are followed (callbacks or polling) and how images travel
(links or inline), and why. It exits non-zero when the key is refused or ShortAPI cannot be
reached. The key never appears in what it prints.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from jobs import reachability, shortapi


class Command(BaseCommand):
    help = "Check the ShortAPI key without spending money, and explain how jobs will travel."

    def handle(self, *args, **options):
        where = ("The built-in ShortAPI simulator" if settings.SHORTAPI_SIMULATED else "ShortAPI")
        where = f"{where} at {settings.SHORTAPI_BASE_URL}"
        delivery = reachability.delivery()
        try:
            shortapi.Client().check_key()
        except shortapi.ShortAPIError as error:
            if error.key_refused:
                raise CommandError(f"{where} refused the API key. Copy the key again from your "
                                   "ShortAPI account into SHORTAPI_KEY and restart.") from None
            if error.never_reached:
                raise CommandError(f"{where} could not be reached: {error.message} Check this "
                                   "machine's internet connection and SHORTAPI_BASE_URL.") from None
            raise CommandError(f"{where} could not check the key: {error.message} Try again in "
                               "a few minutes.") from None
        self.stdout.write(self.style.SUCCESS(f"{where} accepted the key."))
        self.stdout.write(delivery.progress_explained)
        self.stdout.write(delivery.images_explained)
