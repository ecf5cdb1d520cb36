"""Signals the jobs app sends, each once the change it announces is committed. Receivers get ids,
never instances: they run after the commit and re-read what they need.

- `job_finished` (`pk`, `status`): a job moved into a final status (succeeded or failed).
- `video_settled` (`pk`, `kept`): the worker kept a succeeded job's video here (`kept` True), or
  gave up trying (False: ShortAPI's copy is all there is). What says "your video is ready to
  download" waits for this, not for the finish.
- `approval_needed` (`pk`): a submission waits for an approver (spend/approvals.py).
- `approval_decided` (`pk`, `approved`, `note`): an approver released or declined a waiting job.
"""

from django.db import transaction
from django.dispatch import Signal

job_finished = Signal()
video_settled = Signal()
approval_needed = Signal()
approval_decided = Signal()


def announce(signal, sender, **kwargs):
    """Send `signal` once the current transaction commits (at once outside one). Robust: a
    receiver that fails is logged, and never undoes or fails the change that was already made."""
    transaction.on_commit(lambda: signal.send(sender=sender, **kwargs), robust=True)


def announce_finished(sender, pk, status):
    announce(job_finished, sender, pk=pk, status=status)
