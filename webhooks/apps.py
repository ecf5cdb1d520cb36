"""Webhooks: signed messages to addresses people and teams register, when their videos finish,
wait for or get an approver's word, and when an export is ready."""

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self):
        from jobs import dispatch as jobs_dispatch
        from jobs.signals import approval_decided, approval_needed, job_finished, video_settled
        from sequences.signals import export_ready
        from webhooks import dispatch, events

        job_finished.connect(events.on_job_finished, dispatch_uid="webhooks-job-finished")
        video_settled.connect(events.on_video_settled, dispatch_uid="webhooks-video-settled")
        approval_needed.connect(events.on_approval_needed,
                                dispatch_uid="webhooks-approval-needed")
        approval_decided.connect(events.on_approval_decided,
                                 dispatch_uid="webhooks-approval-decided")
        export_ready.connect(events.on_export_ready, dispatch_uid="webhooks-export-ready")
        # every qcluster's dispatcher queues due deliveries too
        jobs_dispatch.also(dispatch.dispatch)
        jobs_dispatch.also(dispatch.prune)
