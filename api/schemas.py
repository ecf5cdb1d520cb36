"""The API's typed shapes: what each endpoint answers, and (through ninja) the OpenAPI document
made from the same classes, so the document cannot describe a field an answer lacks.

Money is a string ("1.200", in dollars), never a float. Every refusal has one shape, `Error`: a
sentence for a person and, where a field caused it, the field's own messages (the composer's).
"""

from datetime import datetime

from ninja import Field, Schema

from lib.numbers import MAX_ID


class Error(Schema):
    message: str
    errors: dict[str, list[str]] = {}


class JobOut(Schema):
    id: int
    title: str
    status: str
    status_label: str
    model: str
    mode: str
    duration: int
    takes: int
    take_number: int
    prompt: str
    project: int | None
    estimate: str
    cost: str
    error: str
    created_at: datetime
    finished_at: datetime | None
    url: str
    video_url: str | None


class JobPage(Schema):
    jobs: list[JobOut]
    next: str | None
    previous: str | None


class ProjectOut(Schema):
    id: int
    name: str
    team: str | None


class ProjectList(Schema):
    projects: list[ProjectOut]
    more: bool


class StarOut(Schema):
    job: int
    starred: bool


class Upload(Schema):
    reference: str
    expires_in_seconds: int


class TakeIn(Schema):
    job: int = Field(ge=1, le=MAX_ID, description="A finished job's id")


class TakeOut(Schema):
    id: int
    sequence: int
    job: int
    position: int


class ExportOut(Schema):
    sequence: int
    status: str
    status_label: str
    progress: int
    queued: bool


class WaitingJob(JobOut):
    requested_by: str
    total: str = Field(description="What all the submission's takes are estimated at")


class Waiting(Schema):
    count: int
    jobs: list[WaitingJob]


class DecisionIn(Schema):
    decision: str = Field(description="approve or decline", max_length=10)
    note: str = Field("", max_length=1000, description="To the requester; needed to decline")


class Decided(Schema):
    approved: bool
    job: JobOut
