"""Registering an endpoint and choosing its events, checked before anything is saved.

The address must be one webhooks may go to: http(s), at most URL_LENGTH characters, no user name
or password in it, and a host whose every address is on the internet (or one the operator named
in KLING_WEBHOOK_ALLOWED_HOSTS). Delivery checks the address again when it connects
(webhooks/delivery.py): a name's answer may change after this check.
"""

from urllib.parse import urlsplit

from django import forms
from django.conf import settings

from lib import outbound
from webhooks.models import EVENTS, URL_LENGTH, Endpoint

EVENT_CHOICES = list(EVENTS.items())


def allowed_by_operator(parts):
    allowed = {host.lower() for host in settings.KLING_WEBHOOK_ALLOWED_HOSTS}
    host = (parts.hostname or "").lower()
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return host in allowed or f"{host}:{port}" in allowed


def url_problem(url):
    """Why webhooks may not go to `url`, in words, or ""."""
    if len(url) > URL_LENGTH:
        return (f"This address has {len(url):,} characters; use one of at most "
                f"{URL_LENGTH:,}.")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        return "This is not a web address. Enter one such as https://example.com/hooks/kling."
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ("Enter an address that starts with https:// (or http://), such as "
                "https://example.com/hooks/kling.")
    if parts.username is not None or parts.password is not None:
        return ("Leave the user name and password out of the address: each message is signed "
                "with the endpoint's secret instead, which your receiver checks.")
    if not allowed_by_operator(parts) and not outbound.resolves_publicly(parts.hostname):
        return (f"“{parts.hostname}” is not an address on the internet (it is private, local or "
                "does not exist), and webhooks go only to the internet. Check the spelling, or "
                "ask your administrator to allow this host.")
    return ""


class EventsForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        choices=EVENT_CHOICES, widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Tick at least one event to send to this endpoint."})

    class Meta:
        model = Endpoint
        fields = ["events"]

    def clean_events(self):
        # in the catalogue's order, each once
        chosen = set(self.cleaned_data["events"])
        return [event for event in EVENTS if event in chosen]


class EndpointForm(EventsForm):
    url = forms.CharField(label="Address (URL)", max_length=URL_LENGTH + 1000, strip=True,
                          help_text="Where to send messages: an https address of your server.",
                          error_messages={"required": "Enter the address to send messages to."})
    whose = forms.ChoiceField(label="For", required=False, help_text="A team's endpoint hears of the team's "
                                                     "videos; yours, of your own.")

    class Meta:
        model = Endpoint
        fields = ["url", "events"]

    def __init__(self, *args, person, teams, **kwargs):
        super().__init__(*args, **kwargs)
        self.person, self.teams = person, {str(team.pk): team for team in teams}
        self.fields["whose"].choices = [("me", "Me")] + [
            (pk, f"Team {team.name}") for pk, team in self.teams.items()]
        self.fields["whose"].error_messages["invalid_choice"] = (
            "Choose yourself or a team whose spend you approve: only a team's approvers register "
            "its endpoints.")
        self.fields["events"].initial = ["job.finished", "job.failed"]
        if not self.teams:
            self.fields["whose"].widget = forms.HiddenInput()
            self.fields["whose"].initial = "me"

    def clean_url(self):
        url = self.cleaned_data["url"]
        if problem := url_problem(url):
            raise forms.ValidationError(problem)
        return url

    def clean(self):
        cleaned = super().clean()
        team = self.teams.get(cleaned.get("whose", ""))
        existing = (Endpoint.objects.filter(team=team) if team
                    else Endpoint.objects.filter(owner=self.person))
        limit = settings.KLING_WEBHOOKS_PER_OWNER
        if "whose" not in self.errors and existing.count() >= limit:
            self.add_error("whose", f"{'This team has' if team else 'You have'} {limit} "
                                    "endpoints, as many as may be kept. Delete one you no longer "
                                    "need first.")
        self.instance.team = team
        self.instance.owner = None if team else self.person
        self.instance.created_by = self.person
        return cleaned
