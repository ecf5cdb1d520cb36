"""What a person keeps about jobs beside the jobs themselves: stars, the words a search finds,
and their preferences."""

from django.conf import settings
from django.db import models

WORD_LENGTH = 32


class Star(models.Model):
    """A person marked a job they may see as one to keep in mind."""

    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                               related_name="stars")
    job = models.ForeignKey("jobs.Job", on_delete=models.CASCADE, related_name="stars")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["person", "job"], name="one_star_per_job")]

    @classmethod
    def mark(cls, person, job, starred=True):
        """Star `job` (one `person` may see) for them, or take their star away."""
        if starred:
            cls.objects.get_or_create(person=person, job=job)
        else:
            cls.objects.filter(person=person, job=job).delete()


class SearchWord(models.Model):
    """One word of a job's title or prompt (jobs/search.py): a search looks words up through the
    (word, job) index instead of reading every prompt."""

    job = models.ForeignKey("jobs.Job", on_delete=models.CASCADE, related_name="search_words")
    word = models.CharField(max_length=WORD_LENGTH)

    class Meta:
        indexes = [models.Index(fields=["word", "job"], name="jobs_searchword_word_job")]
        constraints = [models.UniqueConstraint(fields=["job", "word"], name="one_word_per_job")]


class Preferences(models.Model):
    """How a person wants to hear that a job finished."""

    person = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                  related_name="preferences")
    email_when_finished = models.BooleanField(
        "E-mail me when a video finishes or fails", default=False)
    # the address the person proved is theirs by following the link sent to it; e-mail goes
    # only to the account's address while it is this one
    confirmed_email = models.EmailField(blank=True)

    def confirmed(self, address):
        return bool(address) and address.lower() == self.confirmed_email.lower()

    @classmethod
    def of(cls, person):
        return cls.objects.filter(person=person).first() or cls(person=person)
