"""The composer form: what a person asks for, checked by the catalogue's rules before any money
is spent.

Frames that passed their checks survive a rejected form: they are staged in storage and carried
in a signed hidden field, so fixing a too-long prompt never means uploading the frames again.
"""

import uuid

from django import forms
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from jobs import catalogue, images
from jobs.models import Job

FRAMES = {"start_frame": "image", "end_frame": "image_tail"}
ARG_FIELDS = {"mode": "mode", "duration": "duration", "prompt": "prompt",
              "negative_prompt": "negative_prompt", "generate_audio": "generate_audio",
              **{arg: field for field, arg in FRAMES.items()}}
_STAGING_SALT = "jobs.forms.staged-frame"


class ComposeForm(forms.Form):
    model = forms.ChoiceField(choices=Job.MODEL_CHOICES, initial=catalogue.DEFAULT_MODEL,
                              widget=forms.RadioSelect)
    mode = forms.ChoiceField(choices=list(catalogue.MODE_LABELS.items()), initial="pro")
    duration = forms.TypedChoiceField(
        coerce=int, initial=5, label="Duration",
        choices=[(d, f"{d} seconds") for d in sorted({d for m in catalogue.MODELS.values()
                                                       for d in m.durations})])
    prompt = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}),
                             strip=False)
    negative_prompt = forms.CharField(required=False, strip=False,
                                      widget=forms.Textarea(attrs={"rows": 2}),
                                      help_text="What the video should avoid (optional).")
    generate_audio = forms.BooleanField(required=False, label="Generate audio")
    start_frame = forms.FileField(required=False,
                                  help_text="JPG or PNG (WebP is converted), up to 10 MB, each "
                                            "side at least 300 px.")
    end_frame = forms.FileField(required=False, help_text="Optional: the frame the video ends on.")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.frames: dict[str, images.CheckedImage] = {}
        self.staged: dict[str, str] = {}

    def clean_start_frame(self):
        return self._clean_frame("start_frame", required=True)

    def clean_end_frame(self):
        return self._clean_frame("end_frame", required=False)

    def _clean_frame(self, name, required):
        upload = self.cleaned_data.get(name)
        if upload:
            self.frames[name] = images.check_upload(upload)
        elif not self.data.get(f"{name}_remove") and (token := self.data.get(f"{name}_staged")):
            staged = load_staged(token, self.user)
            if staged is None:
                raise ValidationError("The image uploaded earlier has expired. Upload it again.")
            self.frames[name] = staged
        elif required:
            raise ValidationError("Upload a start frame: the picture the video starts from.")
        return self.frames.get(name)

    def clean(self):
        data = super().clean()
        if not {"model", "mode", "duration"} <= data.keys():
            return data
        frame_refs = {FRAMES[name]: "staged" for name in self.frames}
        spec = catalogue.JobSpec(
            model_id=data["model"], mode=data["mode"], duration=data["duration"],
            prompt=data.get("prompt", ""), negative_prompt=data.get("negative_prompt", ""),
            generate_audio=data.get("generate_audio", False),
            image=frame_refs.get("image", ""), image_tail=frame_refs.get("image_tail", ""),
        )
        for problem in catalogue.check_args(spec.model_id, catalogue.build_args(spec)):
            field = ARG_FIELDS.get(problem.arg)
            if field in self.errors:
                continue
            if field not in self.fields:
                field = None
            self.add_error(field, problem.message)
        if not self.errors:
            model = catalogue.get(spec.model_id)
            data["estimate"] = model.estimate(spec.mode, spec.duration, spec.generate_audio)
        return data

    def stage_frames(self):
        """Keep the frames that passed their checks for the next try of a rejected form."""
        for name, frame in self.frames.items():
            token = self.data.get(f"{name}_staged") if name not in self.files else None
            if not token:
                path = default_storage.save(f"staged/{uuid.uuid4().hex}.{frame.extension}",
                                            ContentFile(frame.content))
                token = signing.dumps({"user": self.user.pk, "name": path}, salt=_STAGING_SALT)
            self.staged[name] = token

    def save(self):
        data = self.cleaned_data
        job = Job(owner=self.user, model_id=data["model"], mode=data["mode"],
                  duration=data["duration"], prompt=data["prompt"],
                  negative_prompt=data["negative_prompt"],
                  generate_audio=data["generate_audio"], estimate=data["estimate"])
        for name, frame in self.frames.items():
            getattr(job, name).save(f"frame.{frame.extension}", frame.as_file(), save=False)
        job.save()
        return job


def staged_name(token, user):
    try:
        value = signing.loads(token, salt=_STAGING_SALT, max_age=24 * 3600)
    except signing.BadSignature:
        return None
    if value.get("user") != user.pk or not default_storage.exists(value.get("name", "")):
        return None
    return value["name"]


def load_staged(token, user):
    name = staged_name(token, user)
    if name is None:
        return None
    with default_storage.open(name, "rb") as handle:
        content = handle.read()
    return images.CheckedImage(content, name.rsplit(".", 1)[-1], 0, 0)
