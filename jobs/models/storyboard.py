"""A job's storyboard and elements: its shots, and the characters or objects Kling keeps the
same across them."""

from django.db import models

from jobs.models.job import Job, _frame_path


class Shot(models.Model):
    """One shot of a custom storyboard: what happens in it and for how many whole seconds."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="shots")
    position = models.PositiveSmallIntegerField()
    prompt = models.TextField(blank=True)
    # empty only in a draft
    duration = models.PositiveSmallIntegerField(null=True, blank=True, help_text="seconds")

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["job", "position"],
                                               name="jobs_shot_one_per_position")]

    def __str__(self):
        return f"Shot {self.position + 1} of job {self.job_id}"


class Element(models.Model):
    """A character or object Kling keeps the same across shots, named by the person."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="elements")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=60)
    # empty only in a draft
    frontal_image = models.ImageField(upload_to=_frame_path, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["job", "position"],
                                               name="jobs_element_one_per_position")]

    def __str__(self):
        return self.name


class ElementReference(models.Model):
    """One more view of an element, from another angle."""

    element = models.ForeignKey(Element, on_delete=models.CASCADE, related_name="references")
    position = models.PositiveSmallIntegerField()
    image = models.ImageField(upload_to=_frame_path)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["element", "position"],
                                               name="jobs_elementreference_one_per_position")]
