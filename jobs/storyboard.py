"""The storyboard and the elements of the composer: one formset row per shot and per element,
and where each of the catalogue's problems about them is shown.

The rules are the catalogue's alone. These forms read what was typed and uploaded, check element
images exactly like frames, and turn a problem such as `multi_prompt[2].duration` into an error
beside that shot's duration.
"""

import re

from django import forms
from django.core.exceptions import ValidationError

from jobs import catalogue, staging, uploads

# Where the catalogue's problems about shots and elements are shown, by the arg they name. The
# first pattern that matches wins: `row` is the formset row, the field is that row's field
# (None: the row as a whole); a pattern without a row means the formset as a whole.
PROBLEM_PLACES = [
    (re.compile(pattern), formset, field)
    for pattern, formset, field in [
        (r"multi_prompt\[(?P<row>\d+)\]\.prompt", "shots", "prompt"),
        (r"multi_prompt\[(?P<row>\d+)\]\.duration", "shots", "duration"),
        (r"multi_prompt\[(?P<row>\d+)\]", "shots", None),
        (r"multi_prompt", "shots", None),
        (r"elements\[(?P<row>\d+)\]\.reference_image_urls", "elements", "references"),
        (r"elements\[(?P<row>\d+)\]", "elements", "frontal_image"),
        (r"elements", "elements", None),
    ]
]
# The most any model takes (the catalogue's own rules then say what the chosen model takes): a
# form with more rows or images than these is refused before any of them is read.
MAX_SHOTS = max(model.max_shots for model in catalogue.MODELS.values())
MAX_ELEMENTS = max(model.max_elements for model in catalogue.MODELS.values())
MAX_REFERENCES = max(model.max_element_references for model in catalogue.MODELS.values())
MAX_SHOT_SECONDS_STORED = 999
# carried-over images a row may post, removed ones included (each is a few hundred bytes)
MAX_POSTED_TOKENS = 2 * MAX_REFERENCES


def place_problem(formsets, problem):
    """Show a catalogue problem in the shot or element formset it concerns. False when the
    problem is not about shots or elements."""
    for pattern, name, field in PROBLEM_PLACES:
        match = pattern.fullmatch(problem.arg)
        if not match:
            continue
        formset = formsets[name]
        row = match.groupdict().get("row")
        if row is not None and int(row) < len(formset.forms):
            form = formset.forms[int(row)]
            if field not in form.errors:
                form.add_error(field, problem.message)
        else:
            formset.non_form_errors().append(problem.message)
        return True
    return False


class RowFormSet(forms.BaseFormSet):
    """A formset in which every row counts, blank or not: a blank shot is a shot without a
    prompt, and the person is told so instead of having it silently dropped. More rows than
    `max_num` are refused, and never built."""

    def get_form_kwargs(self, index):
        kwargs = super().get_form_kwargs(index)
        if index is not None:
            kwargs["empty_permitted"] = False
        return kwargs


class ShotForm(forms.Form):
    prompt = forms.CharField(label="What happens", required=False, strip=False,
                             widget=forms.Textarea(attrs={"rows": 2}))
    duration = forms.IntegerField(
        label="Seconds", required=False, min_value=0, max_value=MAX_SHOT_SECONDS_STORED,
        widget=forms.NumberInput(attrs={"min": 1, "step": 1, "class": "seconds"}))

    def as_shot(self):
        data = getattr(self, "cleaned_data", {})
        return catalogue.Shot(prompt=data.get("prompt", ""), duration=data.get("duration"))


class MultipleImageInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.FileField):
    """Several images in one field, refused as a whole when there are more than `max_count`
    (before any is read)."""

    widget = MultipleImageInput

    def __init__(self, *args, max_count, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_count = max_count

    def clean(self, data, initial=None):
        uploads = [upload for upload in (data if isinstance(data, (list, tuple)) else [data])
                   if upload]
        if len(uploads) > self.max_count:
            raise ValidationError(f"Choose at most {self.max_count} images here; you chose "
                                  f"{len(uploads)}.", code="too_many_images")
        return [super(MultipleImageField, self).clean(upload, initial) for upload in uploads]


class ElementForm(forms.Form):
    name = forms.CharField(label="Name", required=False, max_length=60,
                           help_text="How the storyboard and the job page call it.")
    frontal_image = forms.FileField(label="Frontal image", required=False,
                                    help_text="The element seen from the front.")
    references = MultipleImageField(label="Other angles", required=False,
                                    max_count=MAX_REFERENCES,
                                    help_text=f"Optional: up to {MAX_REFERENCES} images from "
                                              "other angles.")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.frontal = None
        self.reference_pictures = []
        # tokens of images carried over (a rejected form, a remix, a draft opened again)
        self.staged = {"frontal_image": self.initial.get("frontal_image_staged", ""),
                       "references": list(self.initial.get("references_staged", []))}

    def _posted(self, name):
        key = self.add_prefix(name)
        if hasattr(self.data, "getlist"):
            return self.data.getlist(key)
        value = self.data.get(key)
        return value if isinstance(value, list) else [value] if value else []

    def clean_frontal_image(self):
        token = (self._posted("frontal_image_staged") or [""])[0]
        self.frontal = staging.pick(self.cleaned_data.get("frontal_image"), token, self.user)
        return self.frontal

    def clean_references(self):
        removed = set(self._posted("references_remove"))
        problems, self.reference_pictures = [], []
        # counted before any is read: a token repeated a thousand times is a thousand images
        tokens = list(dict.fromkeys(token for token in self._posted("references_staged")
                                    if token and token not in removed))
        chosen = len(tokens) + len(self.cleaned_data.get("references") or [])
        if len(self._posted("references_staged")) > MAX_POSTED_TOKENS or chosen > MAX_REFERENCES:
            raise ValidationError(
                f"An element has at most {MAX_REFERENCES} other angles; this one has {chosen}. "
                "Remove the extra images and send it again.", code="too_many_images")
        for token in tokens:
            picked = staging.load(token, self.user)
            if picked is None:
                problems.append("A reference image uploaded earlier has expired. Upload it "
                                "again.")
            else:
                self.reference_pictures.append(picked)
        for upload in self.cleaned_data.get("references") or []:
            try:
                self.reference_pictures.append(staging.Picked(uploads.check_upload(upload)))
            except ValidationError as error:
                problems.extend(f"{upload.name}: {message}" for message in error.messages)
        if problems:
            raise ValidationError(problems)
        return self.reference_pictures

    def as_element(self):
        # The images' wire form does not matter to the rules, only whether each one is there.
        return catalogue.Element(frontal_image="staged" if self.frontal else "",
                                 reference_images=("staged",) * len(self.reference_pictures))

    def element_name(self, position):
        name = getattr(self, "cleaned_data", {}).get("name", "").strip()
        return name or f"Element {position + 1}"

    def stage(self):
        """Keep the images that passed their checks for the next try of a rejected form."""
        if self.frontal:
            self.staged["frontal_image"] = staging.stage(self.frontal, self.user)
        if self.is_bound:
            self.staged["references"] = [staging.stage(picked, self.user)
                                         for picked in self.reference_pictures]


class ShotRows(RowFormSet):
    default_error_messages = {"too_many_forms": "A storyboard has at most %(num)d shots. Remove "
                                                "the extra ones and send it again."}


class ElementRows(RowFormSet):
    default_error_messages = {"too_many_forms": "A job can have at most %(num)d elements. Remove "
                                                "the extra ones and send it again."}


ShotFormSet = forms.formset_factory(ShotForm, formset=ShotRows, extra=0, max_num=MAX_SHOTS,
                                    absolute_max=MAX_SHOTS, validate_max=True)
ElementFormSet = forms.formset_factory(ElementForm, formset=ElementRows, extra=0,
                                       max_num=MAX_ELEMENTS, absolute_max=MAX_ELEMENTS,
                                       validate_max=True)


def shot_rows(job):
    """A job's shots as the shot formset's rows."""
    return [{"prompt": shot.prompt, "duration": shot.duration} for shot in job.shots.all()]


def element_rows(job, user):
    """A job's elements as the element formset's rows, their images carried as tokens."""
    return [
        {"name": element.name,
         "frontal_image_staged": (staging.token_for(element.frontal_image.name, user, job)
                                  if element.frontal_image else ""),
         "references_staged": [staging.token_for(reference.image.name, user, job)
                               for reference in element.references.all()]}
        for element in job.elements.prefetch_related("references")
    ]

