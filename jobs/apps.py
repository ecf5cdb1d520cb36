"""The jobs app: composing image-to-video jobs and following them to a kept video."""

from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Video jobs"

    def ready(self):
        from jobs import reachability

        # A setting that cannot work with the real ShortAPI stops every process at start-up.
        reachability.check()
