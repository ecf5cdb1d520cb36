"""How long a process of ours lives: it stops with the process that started it.

A worker that outlives its parent goes on sending queued jobs to ShortAPI, spending money after
the person thinks the app has stopped. So every process `runstudio` and `qcluster` start asks the
kernel to kill it when its parent goes (Linux's PR_SET_PDEATHSIG, which a fork clears, so each
forked child asks again), and where there is no such call a thread watches the parent instead.
Knows nothing of jobs: it imports no app.
"""

import ctypes
import ctypes.util
import os
import signal
import sys
import threading

# what a terminal's Ctrl+C, `kill` and a closed terminal send
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
PR_SET_PDEATHSIG = 1
WATCH_SECONDS = 0.5

_libc = None
if sys.platform.startswith("linux"):
    try:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        pass


def die_with_parent(parent_pid, signum=signal.SIGKILL):
    """Have `signum` sent to this process when `parent_pid`, its parent, ends; if it already has,
    end now. Safe between fork and exec (`preexec_fn`): no thread is started where prctl works."""
    if _libc is None or _libc.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0) != 0:
        threading.Thread(target=_watch, args=(parent_pid, signum), name="parent-watch",
                         daemon=True).start()
    # the parent may have gone before the request took hold: then nobody will send it
    if os.getppid() != parent_pid:
        os.kill(os.getpid(), signum)


def _watch(parent_pid, signum):
    while os.getppid() == parent_pid:
        threading.Event().wait(WATCH_SECONDS)
    os.kill(os.getpid(), signum)


def forks_die_with_parent(signum=signal.SIGKILL):
    """From now on, every process forked from this one (and from those) ends with its parent."""
    parent: dict[str, int] = {}
    os.register_at_fork(before=lambda: parent.update(pid=os.getpid()),
                        after_in_child=lambda: die_with_parent(parent["pid"], signum))
