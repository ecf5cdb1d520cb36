"""Starting a sequence's export, for its page and the API alike: the takes are checked, the
person's hourly limit counted, and only then is an export asked for and its task queued (unless
one is already on its way)."""

from dataclasses import dataclass, field

from jobs import limits
from lib import ratelimit
from sequences import tasks
from sequences.models import Export


@dataclass(frozen=True)
class Start:
    """What asking for an export came to: refused (problems, or a wait under the limit), or the
    export, queued by this request or already on its way."""

    export: Export | None = None
    queued: bool = False
    problems: list[str] = field(default_factory=list)
    take_problems: dict[int, str] = field(default_factory=dict)
    wait: int = 0

    @property
    def too_often(self):
        if not self.wait:
            return ""
        return (f"You have asked for {limits.export_limit().count} exports in the last hour, as "
                f"many as one person may. Export again in {self.wait // 60 + 1} minutes.")


def start(sequence, person):
    problems, take_problems = sequence.export_problems(sequence.takes_in_order(), person)
    if problems or take_problems:
        return Start(problems=problems or ["Some takes cannot be exported yet: see what is said "
                                           "beside them."], take_problems=take_problems)
    if wait := ratelimit.wait_for(limits.export_limit(), person.pk):
        return Start(wait=wait)
    export, queued = Export.request(sequence, person)
    if queued:
        tasks.enqueue_export(export)
    return Start(export=export, queued=queued)
