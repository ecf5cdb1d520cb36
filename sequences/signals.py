"""Signals the sequences app sends, each once the change it announces is committed (as
jobs/signals.py's are). Receivers get ids, never instances.

- `export_ready` (`pk`): an export finished and its new file is stored (`Export.finish`).
"""

from django.dispatch import Signal

from jobs.signals import announce

export_ready = Signal()


def announce_export_ready(sender, pk):
    announce(export_ready, sender, pk=pk)
