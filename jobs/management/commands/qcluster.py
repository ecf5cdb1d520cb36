"""`manage.py qcluster`: django-q2's workers, plus the dispatcher that queues due work.

It overrides django_q's own command (jobs is listed before django_q in INSTALLED_APPS, as
staticfiles overrides `runserver`), so every worker host also dispatches: running workers is all
a deployment needs for jobs to be polled, retried and their videos kept.
"""

import os
import threading

from django.conf import settings
from django_q.cluster import Cluster
from django_q.management.commands.qcluster import Command as DjangoQCommand

from jobs import dispatch


class Command(DjangoQCommand):
    help = "Start the task workers (a django-q2 cluster) and the dispatcher that queues due work."

    def handle(self, *args, **options):
        if options.get("cluster_name"):
            os.environ["Q_CLUSTER_NAME"] = options["cluster_name"]
        cluster = Cluster()
        cluster.start()
        if options.get("run_once"):
            cluster.stop()
            return
        # The cluster's signal handlers stop it; the dispatcher stops with it.
        stop = threading.Event()
        watcher = threading.Thread(target=dispatch.run, args=(stop, settings.KLING_DISPATCH_SECONDS),
                                   name="dispatcher", daemon=True)
        watcher.start()
        while cluster.sentinel.is_alive():
            cluster.sentinel.join(0.5)
        stop.set()
        watcher.join(5)
