"""The jobs app: composing image-to-video jobs and following them to a kept video."""

from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Video jobs"

    def ready(self):
        from jobs import notify, reachability
        from jobs.signals import approval_decided, job_finished

        # A setting that cannot work with the real ShortAPI stops every process at start-up.
        reachability.check()
        # a finished job is e-mailed to an owner who asked for that
        job_finished.connect(notify.queue_finished_email, dispatch_uid="finished-email")
        # and so is an approver's decision on a job that waited
        approval_decided.connect(notify.queue_decision_email, dispatch_uid="decision-email")
