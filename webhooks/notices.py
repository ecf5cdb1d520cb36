"""Telling an endpoint's owner that it was switched off.

The e-mail goes only to addresses their owners confirmed (jobs.notify's rule): a person's
endpoint to that person; a team's endpoint to the team's approvers and to whoever registered it.
"""

from django.core.mail import send_mail
from django.urls import reverse

from jobs.models import Preferences
from jobs.notify import absolute
from webhooks.models import Endpoint


def owners(endpoint):
    """The people to tell about the endpoint."""
    if endpoint.owner_id is not None:
        return [endpoint.owner]
    people = list(endpoint.team.approvers.all())
    if endpoint.created_by is not None and endpoint.created_by not in people:
        people.append(endpoint.created_by)
    return people


def confirmed_addresses(people):
    return sorted({person.email for person in people
                   if Preferences.of(person).confirmed(person.email)})


def tell_switched_off(endpoint_id):
    endpoint = Endpoint.objects.select_related("owner", "team", "created_by").filter(
        pk=endpoint_id).first()
    if endpoint is None or endpoint.enabled:
        return
    addresses = confirmed_addresses(owners(endpoint))
    if not addresses:
        return
    body = "\n".join([
        f"Kling Studio stopped sending webhooks to {endpoint.url}.", "",
        endpoint.disabled_reason, "",
        "See each try and its answer, and switch it on again, here:",
        absolute(reverse("webhook", args=[endpoint.pk]))])
    send_mail("A webhook endpoint of yours was switched off", body, None, addresses)
