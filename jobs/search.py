"""Finding jobs by the words of their title and prompt.

Each sent job's words are kept as rows of `SearchWord` (lower case, accents kept, up to 32
characters), so a search reads an index instead of every prompt. A query word matches every word
it begins ("light" finds "lighthouse"), and a job must match every query word.

A word few jobs have is looked up first and its jobs named outright, so the page reads only
those; a word most jobs have is checked per row as the page is read newest first, and the page
stops at its twelfth match. Either way a page costs about the same at 100 and at 100,000 jobs.
"""

import re

from django.db.models import Exists, OuterRef

from jobs.models import SearchWord
from jobs.models.person import WORD_LENGTH

WORD = re.compile(r"\w+", re.UNICODE)
MAX_QUERY_WORDS = 6
# A word matching at most this many rows is "rare": its jobs are looked up and named outright.
RARE = 2000


def words(text):
    """The distinct searchable words of `text`, in order."""
    return list(dict.fromkeys(w[:WORD_LENGTH] for w in WORD.findall(text.lower())))


def text_of(job):
    shots = " ".join(shot.prompt for shot in job.shots.all()) if job.multi_shot else ""
    return " ".join(part for part in (job.title, job.prompt, shots) if part)


def index(job):
    """Keep `job`'s words (again, after its title changed)."""
    SearchWord.objects.filter(job=job).delete()
    SearchWord.objects.bulk_create(
        [SearchWord(job=job, word=word) for word in words(text_of(job))], ignore_conflicts=True)


def index_many(jobs):
    """Keep the words of many jobs at once (a submission's takes, a backfill)."""
    SearchWord.objects.bulk_create(
        [SearchWord(job=job, word=word) for job in jobs for word in words(text_of(job))],
        ignore_conflicts=True, batch_size=2000)


def _starting_with(word):
    """Every indexed word that begins with `word`: a range scan on the (word, job) index."""
    following = word[:-1] + chr(ord(word[-1]) + 1)
    return SearchWord.objects.filter(word__gte=word, word__lt=following)


def matching(queryset, query):
    """The jobs of `queryset` whose title or prompt has every word of `query`."""
    for word in words(query)[:MAX_QUERY_WORDS]:
        rows = _starting_with(word)
        found = list(rows.values_list("job_id", flat=True)[:RARE + 1])
        if len(found) <= RARE:
            queryset = queryset.filter(id__in=found)
        else:
            queryset = queryset.filter(Exists(rows.filter(job_id=OuterRef("pk"))))
    return queryset

