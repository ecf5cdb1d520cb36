"""Keeping a succeeded job's video: each try counted as it starts, the kept file and what was
read from it (its rate, length and last frame), and why a try failed. Part of `Job`."""

from jobs import polling


class KeepsVideo:
    """The video-keeping state of `Job` (jobs/models/job.py); each change one UPDATE."""

    def start_video_attempt(self, now):
        """Count a try at keeping the video as it starts, so a try that never ends still counts,
        and set when the next is due. False when the video needs no (more) tries."""
        attempt = self.video_attempts + 1
        due = now + polling.video_retry_delay(attempt) if attempt < self.MAX_VIDEO_ATTEMPTS else None
        return type(self).objects.filter(
            pk=self.pk, status=self.Status.SUCCEEDED, video="",
            video_attempts=self.video_attempts, video_attempts__lt=self.MAX_VIDEO_ATTEMPTS,
        ).update(video_attempts=attempt, next_attempt_at=due) == 1

    def store_video(self, name, facts=None):
        """The video is kept in storage under `name`; only a succeeded job has one. `facts`:
        what was read from it (`jobs.videofacts.Facts`), if anything."""
        type(self).objects.filter(pk=self.pk, status=self.Status.SUCCEEDED).update(
            video=name, video_error="", next_attempt_at=None)
        self.video = name
        if facts is not None:
            self.store_facts(facts)

    @property
    def described(self):
        """Whether the kept video's facts were read (`jobs.videofacts`)."""
        return self.video_fps is not None or bool(self.last_frame) or bool(self.last_frame_problem)

    def store_facts(self, facts):
        """Keep what was read from the kept video: its rate, length and last frame."""
        if facts.last_frame is not None:
            self.last_frame.save("last-frame." + facts.last_frame.extension,
                                 facts.last_frame.as_file(), save=False)
        type(self).objects.filter(pk=self.pk).update(video_fps=facts.fps, video_seconds=facts.seconds,
                                              last_frame=self.last_frame.name or "",
                                              last_frame_problem=facts.problem)
        self.video_fps, self.video_seconds = facts.fps, facts.seconds
        self.last_frame_problem = facts.problem

    def note_video_error(self, reason, give_up=False):
        changes = {"video_error": reason}
        if give_up:
            changes.update(video_attempts=self.MAX_VIDEO_ATTEMPTS, next_attempt_at=None)
        type(self).objects.filter(pk=self.pk).update(**changes)
        self.refresh_from_db(fields=["video_error", "video_attempts", "next_attempt_at"])
