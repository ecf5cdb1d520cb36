"""Signals the jobs app sends: `job_finished`, once a job's move into a final status (succeeded
or failed) is committed. Receivers get `pk` and `status`, never the instance: they run after the
commit and re-read what they need."""

from django.db import transaction
from django.dispatch import Signal

job_finished = Signal()


def announce_finished(sender, pk, status):
    """Send `job_finished` once the current transaction commits (at once outside one). Robust: a
    receiver that fails is logged, and never undoes or fails the move that was already made."""
    transaction.on_commit(lambda: job_finished.send(sender=sender, pk=pk, status=status),
                          robust=True)
