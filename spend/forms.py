"""The date range the spend review and its CSV export cover."""

from datetime import timedelta

from django import forms
from django.utils import timezone

from spend.reports import DateRange

MAX_DAYS = 366


class DateRangeForm(forms.Form):
    first = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    last = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))

    @classmethod
    def this_month(cls):
        today = timezone.localdate()
        return {"first": today.replace(day=1), "last": today}

    def clean(self):
        data = super().clean()
        first, last = data.get("first"), data.get("last")
        if first and last:
            if first > last:
                self.add_error("last", "The end date is before the start date; swap them.")
            elif last - first > timedelta(days=MAX_DAYS):
                self.add_error("last", f"Choose at most {MAX_DAYS} days at a time.")
        return data

    def date_range(self):
        return DateRange(self.cleaned_data["first"], self.cleaned_data["last"])


def range_from(request):
    """The form for the range in the query string, this month when none is given."""
    form = DateRangeForm(request.GET if "first" in request.GET else DateRangeForm.this_month())
    if form.is_valid():
        return form, form.date_range()
    return form, DateRange(**DateRangeForm.this_month())
