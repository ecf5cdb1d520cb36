"""`manage.py qcluster`: django-q2's workers, plus the dispatcher that queues due work.

It overrides django_q's own command (jobs is listed before django_q in INSTALLED_APPS, as
staticfiles overrides `runserver`), so every worker host also dispatches: running workers is all
a deployment needs for jobs to be polled, retried and their videos kept. Started with
`Q_CLUSTER_NAME=<KLING_QUEUE_NAME>-free`, it runs the queue of free work (exports) instead, and
dispatches nothing.

It also stops within a bound. On SIGINT, SIGTERM or SIGHUP no worker starts another task (one it
took stays undone: the broker delivers it again after `retry`, and the job's own mark has the
dispatcher queue it again once stale), the dispatcher stops and django-q2's cluster is asked to
stop; tasks under way get STOP_GRACE_SECONDS to end, then the cluster is killed. Every process of
the cluster dies with its parent (`lib.lifetime`), so a kill leaves none of them behind.
"""

import multiprocessing
import os
import signal
import sys
import threading

from django.conf import settings
from django_q.cluster import Cluster
from django_q.conf import Conf
from django_q.management.commands.qcluster import Command as DjangoQCommand
from django_q.signals import pre_execute

from jobs import dispatch
from lib import lifetime

STOP_GRACE_SECONDS = 5


class Command(DjangoQCommand):
    help = "Start the task workers (a django-q2 cluster) and the dispatcher that queues due work."

    def handle(self, *args, **options):
        if options.get("cluster_name"):
            os.environ["Q_CLUSTER_NAME"] = options["cluster_name"]
        # Shared memory made before the cluster forks, so every worker sees it. A plain byte, not
        # an Event: a signal handler must never wait for a lock its own thread may hold.
        stopping = multiprocessing.RawValue("b", 0)

        def begin_stop(signum, frame):
            stopping.value = 1

        def no_task_once_stopping(**_):
            # Runs in the worker that just took a task. SystemExit, unlike os._exit, lets the
            # worker hand over the results of the tasks it finished before.
            if stopping.value:
                sys.exit(0)

        pre_execute.connect(no_task_once_stopping, weak=False,
                            dispatch_uid="kling-no-task-once-stopping")
        lifetime.forks_die_with_parent()
        cluster = Cluster()  # installs django-q2's signal handlers, replaced next
        for signum in lifetime.STOP_SIGNALS:
            signal.signal(signum, begin_stop)
        cluster.start()
        if options.get("run_once"):
            cluster.stop()
            return
        stop = threading.Event()
        # the workers of free work (exports) only take their own queue's tasks: they dispatch
        # nothing, since what the dispatcher queues is ShortAPI's
        free = Conf.CLUSTER_NAME == settings.KLING_FREE_QUEUE
        watcher = threading.Thread(target=dispatch.run, args=(stop, settings.KLING_DISPATCH_SECONDS),
                                   name="dispatcher", daemon=True)
        if not free:
            watcher.start()
        while cluster.sentinel.is_alive() and not stopping.value:
            cluster.sentinel.join(0.2)
        stop.set()
        cluster.stop_event.set()
        cluster.sentinel.join(STOP_GRACE_SECONDS)
        if cluster.sentinel.is_alive():
            cluster.sentinel.kill()  # its workers, pusher and monitor die with it
            cluster.sentinel.join()
        if not free:
            watcher.join(1)
