"""The form that names a new API token."""

from django import forms

from api.models import NAME_LENGTH, Token


class TokenForm(forms.Form):
    name = forms.CharField(max_length=NAME_LENGTH, strip=True,
                           help_text="What it is for, e.g. “Render script” or “Slack bot”.")

    def __init__(self, *args, person, **kwargs):
        super().__init__(*args, **kwargs)
        self.person = person

    def clean(self):
        if refusal := Token.refusal_of_another(self.person):
            raise forms.ValidationError(refusal, code="too_many")
        return super().clean()
