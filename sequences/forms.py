"""The forms of sequences: making one, renaming it, adding a take to one, and trimming a take."""

from decimal import Decimal

from django import forms

from lib import numbers
from sequences.models import Sequence
from teams.models import Project

NEW = "new"


class SequenceForm(forms.ModelForm):
    class Meta:
        model = Sequence
        fields = ["name", "project"]
        help_texts = {"project": "In a team's project the whole team sees the sequence, adds "
                                 "the team's videos to it and exports it."}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["project"].queryset = (Project.objects.open_to(user).select_related("team")
                                           .order_by("name"))
        self.fields["project"].empty_label = "None: only me"
        self.fields["project"].required = False

    def clean(self):
        if refusal := Sequence.refusal_of_another(self.user):
            raise forms.ValidationError(refusal, code="too_many")
        return super().clean()


class RenameForm(forms.ModelForm):
    """A sequence's new name; whoever may change the sequence may rename it."""

    class Meta:
        model = Sequence
        fields = ["name"]


class AddForm(forms.Form):
    """A job to add, and where: an existing sequence's id, or NEW with an optional name."""

    job = forms.IntegerField(min_value=1, max_value=numbers.MAX_ID)
    sequence = forms.CharField(max_length=20)
    name = forms.CharField(max_length=Sequence._meta.get_field("name").max_length,
                           required=False, strip=True)

    def clean_sequence(self):
        value = self.cleaned_data["sequence"]
        if value != NEW and not numbers.whole(value):
            raise forms.ValidationError("Pick a sequence, or “New sequence…”.")
        return value


class TrimForm(forms.Form):
    """A take's trim, in seconds, moved to the nearest frames and checked against its length."""

    trim_start = forms.DecimalField(label="Start (s)", min_value=0, max_digits=12,
                                    decimal_places=6, required=False)
    trim_end = forms.DecimalField(label="End (s)", min_value=0, max_digits=12, decimal_places=6,
                                  required=False, help_text="Empty: to the end of the take.")

    def __init__(self, *args, take, **kwargs):
        kwargs.setdefault("prefix", f"take-{take.pk}")
        kwargs.setdefault("initial", {"trim_start": take.start_text, "trim_end": take.end_text})
        super().__init__(*args, **kwargs)
        self.take = take
        for field in self.fields.values():
            field.widget.attrs.update({"step": take.frame_step, "inputmode": "decimal"})
        self.fields["trim_start"].widget.attrs["data-role"] = "trim-start"
        self.fields["trim_end"].widget.attrs["data-role"] = "trim-end"
        if take.length is not None:
            self.fields["trim_end"].widget.attrs["max"] = f"{take.length:.3f}"

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        start = self.take.on_frame(data.get("trim_start") or Decimal("0"))
        end = self.take.on_frame(data.get("trim_end"))
        for field, problem in self.take.trim_problems(start, end).items():
            self.add_error(field, problem)
        data["trim_start"], data["trim_end"] = start, end
        return data
