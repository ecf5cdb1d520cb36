"""The jobs app's models: the Job with its state machine, its storyboard and elements, and what a
person keeps about jobs."""

from jobs.models.job import Job, _frame_path, _new_token, _poster_path, _video_path
from jobs.models.queries import TASK_LOST_AFTER, JobQuerySet
from jobs.models.person import Preferences, SearchWord, Star
from jobs.models.storyboard import Element, ElementReference, Shot

__all__ = ["TASK_LOST_AFTER", "Element", "ElementReference", "Job", "JobQuerySet", "Preferences",
           "SearchWord", "Shot", "Star",
           "_frame_path", "_new_token", "_poster_path", "_video_path"]
