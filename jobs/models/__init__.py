"""The jobs app's models: the Job with its state machine, and its storyboard and elements."""

from jobs.models.job import (TASK_LOST_AFTER, Job, JobQuerySet, _frame_path, _new_token,
                             _poster_path, _video_path)
from jobs.models.storyboard import Element, ElementReference, Shot

__all__ = ["TASK_LOST_AFTER", "Element", "ElementReference", "Job", "JobQuerySet", "Shot",
           "_frame_path", "_new_token", "_poster_path", "_video_path"]
