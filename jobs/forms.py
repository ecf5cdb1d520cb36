"""The composer form: what a person asks for, checked by the catalogue's rules before any money
is spent; with Kling 3.0, its storyboard and elements too (formsets from `jobs.storyboard`).

Images that passed their checks survive a rejected form: they are staged in storage and carried
in signed hidden fields (`jobs.staging`), so fixing a too-long prompt never means uploading the
frames again. The same tokens carry a job's own images into a remix or a reopened draft, and a
finished job's last frame into the shot that continues it.

The form also keeps drafts: checked with `as_draft=True` it accepts whatever passes the field
checks (images are still checked), skipping the catalogue's rules; sent normally with a `draft`
id it runs every rule. Either way it only checks: `request()` hands what it accepted to
`jobs.submission`, which writes, holds and sends.
"""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict

from jobs import (catalogue, framing, recipes, search, staging, storyboard, submission,
                  uploads)
from jobs.models import Job
from jobs.submission import DRAFT_GONE, MAX_TAKES
from lib import numbers
from teams.models import Project

FRAMES = {"start_frame": "image", "end_frame": "image_tail"}
# How the page asks for a frame to be fitted to Kling's shape: `<frame>_<key>` for each key, read
# by `framing.parse`, and `upscale` for a small image that needs nothing else.
FIT_KEYS = ("fit", "fit_ratio", "fit_x", "fit_y", "upscale")
FIT_RATIOS = {"16:9": "16:9 landscape", "9:16": "9:16 portrait", "1:1": "1:1 square",
              "4:3": "4:3", "5:2": "5:2, the widest Kling takes",
              "2:5": "2:5, the tallest Kling takes"}
SAME_FIT = "end_frame_same_fit"
CONTINUES_GONE = ("The video this one was to continue is no longer there for you (deleted, or its "
                  "project is no longer shared with you). Send again to make it a shot of its "
                  "own.")
ARG_FIELDS = {"mode": "mode", "duration": "duration", "prompt": "prompt",
              "negative_prompt": "negative_prompt", "generate_audio": "generate_audio",
              "multi_shot": "multi_shot", "shot_type": "shot_type",
              **{arg: field for field, arg in FRAMES.items()}}


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
    multi_shot = forms.TypedChoiceField(
        label="Shots", choices=[("0", "Single shot"), ("1", "Multi-shot")], initial="0",
        coerce=lambda value: value == "1", empty_value=False, required=False,
        widget=forms.RadioSelect)
    shot_type = forms.ChoiceField(label="Shot type", choices=list(catalogue.SHOT_TYPES.items()),
                                  initial="intelligence", required=False, widget=forms.RadioSelect)
    title = forms.CharField(required=False, max_length=Job._meta.get_field("title").max_length,
                            help_text="Optional: by default the first words of the prompt.")
    project = forms.ModelChoiceField(queryset=Project.objects.none(), required=False,
                                     empty_label="No project (only you see it)")
    takes = forms.TypedChoiceField(
        coerce=int, initial=1, required=False, empty_value=1,
        choices=[(n, str(n)) for n in range(1, MAX_TAKES + 1)],
        help_text="Identical videos sent together, to pick the best of.")
    # the job whose next shot this is ("Continue"), carried through rejected forms and drafts
    continues = forms.ModelChoiceField(queryset=Job.objects.none(), required=False,
                                       widget=forms.HiddenInput,
                                       error_messages={"invalid_choice": CONTINUES_GONE})

    def __init__(self, data=None, files=None, *, user, as_draft=False, draft=None,
                 shot_rows=None, element_rows=None, **kwargs):
        self.user = user
        self.as_draft = as_draft
        self.draft = draft
        self.draft_asked = draft is not None
        if data is not None:
            data, files = self._input(data, files)
        super().__init__(data, files, **kwargs)
        self.fields["project"].queryset = Project.objects.open_to(user).select_related("team")
        self.fields["continues"].queryset = Job.objects.visible_to(user).sent()
        if "project" not in self.initial:
            self.initial["project"] = last_project(user)
        self.frames: dict[str, staging.Picked] = {}
        # a fitted frame's image as sent, staged instead of the fit; the fits, to show again
        self.originals: dict[str, staging.Picked] = {}
        self.fits: dict[str, dict[str, str]] = {}
        self.staged: dict[str, str] = {}
        self.custom = False
        self.shots = storyboard.ShotFormSet(data, prefix="shots", initial=shot_rows)
        if data is None and not shot_rows:
            self.shots.extra = 1
        self.elements = storyboard.ElementFormSet(data, files, prefix="elements",
                                                  initial=element_rows,
                                                  form_kwargs={"user": user})

    def _input(self, data, files):
        """What was posted, with the draft it names; a draft's Submit on the drafts list posts
        only the draft's id and `saved`, and then the draft as saved is the input."""
        draft_id = numbers.whole(str(data.get("draft", "")))
        if draft_id is not None:
            self.draft_asked = True
            job = Job.objects.filter(pk=draft_id, owner=self.user).first()
            self.draft = job if job and job.is_draft else None
            if job and data.get("saved"):
                # even when no longer a draft (a second click), show what it held
                return saved_input(job, self.user), {}
        data = data.copy()
        # A section the page left out (another model, or no script) posts no management form.
        for prefix in ("shots", "elements"):
            data.setdefault(f"{prefix}-TOTAL_FORMS", "0")
            data.setdefault(f"{prefix}-INITIAL_FORMS", "0")
        return data, files

    @classmethod
    def copy_of(cls, job, user, draft=None):
        """An unsent composer filled in from `job`, its images carried as tokens: a remix, or
        (with `draft`) a draft opened again for editing."""
        fields, staged, shot_rows, element_rows = job_input(job, user, remix=draft is None)
        form = cls(user=user, draft=draft, initial=fields, shot_rows=shot_rows,
                   element_rows=element_rows)
        form.staged = staged
        return form

    @classmethod
    def continuation_of(cls, job, user, start_frame):
        """An unsent composer for the shot after `job`: `start_frame` (a staging token for the
        job's last frame), the job's model, mode and duration, its project if the person may use
        it, and nothing else: a new prompt and title, one take."""
        initial = {"model": job.model_id, "mode": job.mode, "duration": job.duration,
                   "prompt": "", "title": "", "takes": 1,
                   "project": usable_project(job, user) or "", "continues": job.pk}
        form = cls(user=user, initial=initial)
        form.staged = {"start_frame": start_frame}
        return form

    @property
    def continued(self):
        """The job this one continues, for the page to name (None when there is none, or the
        one posted is not the person's to continue)."""
        if self.is_bound:
            return getattr(self, "cleaned_data", {}).get("continues")
        pk = self.initial.get("continues")
        return self.fields["continues"].queryset.filter(pk=pk).first() if pk else None

    # what the fit panel beside each frame offers (templates/jobs/_frame_field.html)
    fit_ratios = FIT_RATIOS
    min_image_side = catalogue.MIN_IMAGE_SIDE

    def clean_start_frame(self):
        return self._clean_frame("start_frame", required=not self.as_draft)

    def clean_end_frame(self):
        return self._clean_frame("end_frame", required=False)

    def _clean_frame(self, name, required):
        """The frame's image; fitted to Kling's shape from its original when the page asks
        (`jobs.framing`), the end frame maybe with the start frame's fit so that both match."""
        token = "" if self.data.get(f"{name}_remove") else self.data.get(f"{name}_staged")
        self.fits[name] = self._posted_fit(name)
        borrowed = name == "end_frame" and bool(self.data.get(SAME_FIT))
        asked = self._posted_fit("start_frame") if borrowed else self.fits[name]
        fitting = bool(asked["fit"] or asked["upscale"])
        picked = staging.pick(self.cleaned_data.get(name), token, self.user, shape=not fitting)
        if picked and fitting:
            self.originals[name] = picked
            picked = self._fitted(picked, asked, shown=None if borrowed else self.fits[name])
        if picked:
            self.frames[name] = picked
        elif required:
            raise ValidationError("Upload a start frame: the picture the video starts from.")
        return picked

    def _posted_fit(self, frame):
        return {key: str(self.data.get(f"{frame}_{key}", "")).strip() for key in FIT_KEYS}

    def _fitted(self, original, asked, shown):
        """The original fitted as `asked`; the crop's position, placed on the kept original,
        goes into `shown` for the next try (None: the start frame's fit, borrowed)."""
        try:
            fit = uploads.placed(framing.parse(asked), original.image)
            if shown is not None and fit and fit.kind == "crop":
                shown.update(fit_x=str(fit.x), fit_y=str(fit.y))
            return staging.Picked(uploads.fit_image(original.image, fit))
        except framing.FitError as error:
            prefix = "" if shown is not None else "The start frame's fit does not suit this one: "
            raise ValidationError(prefix + str(error), code="fit") from None

    def clean(self):
        data = super().clean()
        if self.draft_asked and self.draft is None:
            self.draft_asked = False
            self.add_error(None, DRAFT_GONE)
        if not {"model", "mode", "duration"} <= data.keys():
            return data
        model = catalogue.get(data["model"])
        data["multi_shot"] = model.storyboard and data.get("multi_shot", False)
        data["shot_type"] = data.get("shot_type") or "intelligence"
        # Only what the model and the combination take is read, as only that is sent.
        self.custom = data["multi_shot"] and data["shot_type"] == "customize"
        shot_forms = self.shots.forms if self.custom else []
        element_forms = self.elements.forms if model.max_elements else []
        for rows in (shot_forms, element_forms):
            for form in rows:
                form.full_clean()
        frame_refs = {FRAMES[name]: "staged" for name in self.frames}
        spec = catalogue.JobSpec(
            model_id=data["model"], mode=data["mode"], duration=data["duration"],
            prompt=data.get("prompt", ""), negative_prompt=data.get("negative_prompt", ""),
            generate_audio=data.get("generate_audio", False),
            image=frame_refs.get("image", ""), image_tail=frame_refs.get("image_tail", ""),
            multi_shot=data["multi_shot"], shot_type=data["shot_type"],
            shots=tuple(form.as_shot() for form in shot_forms),
            elements=tuple(form.as_element() for form in element_forms),
        )
        if not self.as_draft:
            self._apply_rules(spec)
        data["spec"] = spec
        data["estimate"] = estimate(model, spec)
        return data

    def _apply_rules(self, spec):
        args = catalogue.build_args(spec)
        # build_args leaves out an end frame that multi-shot cannot use; the person is told.
        if spec.image_tail:
            args.setdefault("image_tail", spec.image_tail)
        formsets = {"shots": self.shots, "elements": self.elements}
        for problem in catalogue.check_args(spec.model_id, args):
            if storyboard.place_problem(formsets, problem):
                continue
            field = ARG_FIELDS.get(problem.arg)
            if field in self.errors:
                continue
            if field not in self.fields:
                field = None
            self.add_error(field, problem.message)

    def is_valid(self):
        valid = super().is_valid()
        shots_valid = not self.custom or self.shots.is_valid()
        return valid and shots_valid and self.elements.is_valid()

    @property
    def has_problems(self):
        return bool(self.errors or (self.custom and self.shots.total_error_count())
                    or self.elements.total_error_count())

    def stage_frames(self):
        """Keep the images that passed their checks for the next try of a rejected form (a
        fitted frame's original, so that its fit can still be changed)."""
        for name, picked in {**self.frames, **self.originals}.items():
            self.staged[name] = staging.stage(picked, self.user)
        for form in self.elements.forms:
            form.stage()

    def request(self):
        """What the form accepted, for `jobs.submission` to write and send."""
        data = self.cleaned_data
        model = catalogue.get(data["model"])
        elements = tuple(
            submission.ElementRequest(form.element_name(position), form.frontal,
                                      tuple(form.reference_pictures))
            for position, form in enumerate(self.elements.forms if model.max_elements else []))
        return submission.Request(
            spec=data["spec"], estimate=data["estimate"],
            start_frame=self.frames.get("start_frame"), end_frame=self.frames.get("end_frame"),
            elements=elements, project=data.get("project"), title=data.get("title", "").strip(),
            takes=data.get("takes") or 1, continues=data.get("continues"))


class TitleForm(forms.ModelForm):
    """A job's owner renames it; its search words follow."""

    class Meta:
        model = Job
        fields = ["title"]

    def clean_title(self):
        title = self.cleaned_data["title"].strip()
        if not title:
            raise ValidationError("Give the video a title, or keep the one it has.")
        return title

    def save(self, commit=True):
        job = super().save(commit)
        if commit:
            search.index(job)
        return job


def last_project(user):
    """The project of the person's last job, if they may still use it."""
    last = (Job.objects.owned_by(user).exclude(project=None).order_by("-created_at", "-id")
            .values_list("project", flat=True).first())
    return Project.objects.open_to(user).filter(pk=last).first() if last else None


def estimate(model, spec):
    """The price table times the duration; nothing for a draft whose mode the model lacks."""
    if spec.mode not in model.modes:
        return Decimal("0")
    return model.estimate(spec.mode, spec.duration, spec.generate_audio)


def job_input(job, user, remix=False):
    """The composer's input for a copy of `job`: its fields, its frames as tokens, and its shot
    and element rows. A remix (of a teammate's job, maybe) starts with a title of its own, one
    take, the project only if the person may use it, and continues nothing; a draft keeps the
    job it continues."""
    fields = {**recipes.settings_of(job), "multi_shot": "1" if job.multi_shot else "0",
              "takes": 1 if remix else job.takes, "title": "" if remix else job.title,
              "project": usable_project(job, user) or "",
              "continues": "" if remix else job.continues_id or ""}
    staged = {name: staging.token_for(getattr(job, name).name, user, job)
              for name in FRAMES if getattr(job, name)}
    return fields, staged, storyboard.shot_rows(job), storyboard.element_rows(job, user)


def usable_project(job, user):
    """The id of the job's project if the person may put jobs in it, else None."""
    if job.project_id and Project.objects.open_to(user).filter(pk=job.project_id).exists():
        return job.project_id
    return None


def saved_input(job, user):
    """What the composer would post for `job` as it is saved."""
    fields, staged, shot_rows, element_rows = job_input(job, user)
    data = QueryDict(mutable=True)
    for name, value in fields.items():
        if value is not False:
            data[name] = "on" if value is True else str(value)
    for name, token in staged.items():
        data[f"{name}_staged"] = token
    data["draft"] = str(job.pk)
    for prefix, rows in (("shots", shot_rows), ("elements", element_rows)):
        data[f"{prefix}-TOTAL_FORMS"] = str(len(rows))
        data[f"{prefix}-INITIAL_FORMS"] = "0"
        for index, row in enumerate(rows):
            for name, value in row.items():
                key = f"{prefix}-{index}-{name}"
                if isinstance(value, list):
                    data.setlist(key, value)
                elif value is not None:
                    data[key] = str(value)
    return data
