"""The webhook pages under Settings: a person's endpoints and their teams', and each endpoint's
page (its events, its secret, switching it off and on, a test message, and recent deliveries with
every try's answer).

Who reaches an endpoint (`endpoint_for`): its owner for a person's endpoint; for a team's, the
team's approvers and staff. Anybody else, a teammate who does not approve included, gets 404.
A secret is shown once, on the page right after it was made (kept in the session until then).
"""

from django.contrib import messages
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from lib import ratelimit
from lib.numbers import whole
from teams.models import Team
from webhooks import events
from webhooks.forms import EndpointForm, EventsForm
from webhooks.models import Endpoint

DELIVERIES_PER_PAGE = 10
TESTS = ratelimit.Limit("webhook-test", 10, 3600)
SHOWN_SECRET = "webhook-secret"


def endpoint_for(request, pk):
    return get_object_or_404(Endpoint.objects.managed_by(request.user)
                             .select_related("team", "owner"), pk=pk)


def managed_teams(person):
    """The teams whose endpoints `person` may register: those they approve for (all, staff)."""
    return Team.objects.all() if person.is_staff else Team.objects.filter(approvers=person)


def _show_secret_once(request, endpoint):
    request.session[SHOWN_SECRET] = {"endpoint": endpoint.pk, "secret": endpoint.secret}


@never_cache
def endpoints(request):
    person = request.user
    form = EndpointForm(request.POST or None, person=person, teams=managed_teams(person))
    if request.method == "POST" and form.is_valid():
        endpoint = form.save()
        _show_secret_once(request, endpoint)
        return redirect(endpoint)
    shown = Endpoint.objects.managed_by(person).select_related("team")
    return render(request, "webhooks/list.html", {"endpoints": shown, "form": form},
                  status=400 if form.errors else 200)


@require_GET
@never_cache
def endpoint_detail(request, pk):
    return _detail(request, endpoint_for(request, pk))


def _detail(request, endpoint, form=None, status=200):
    shown = request.session.get(SHOWN_SECRET)
    secret = ""
    if isinstance(shown, dict) and shown.get("endpoint") == endpoint.pk:
        secret = shown.get("secret", "")
        del request.session[SHOWN_SECRET]
    before = whole(request.GET.get("before", ""))
    deliveries = endpoint.deliveries.order_by("-id").prefetch_related("tries")
    if before is not None:
        deliveries = deliveries.filter(id__lt=before)
    page = list(deliveries[:DELIVERIES_PER_PAGE + 1])
    return render(request, "webhooks/detail.html", {
        "endpoint": endpoint, "secret": secret,
        "form": form or EventsForm(instance=endpoint),
        "deliveries": page[:DELIVERIES_PER_PAGE],
        "older": page[DELIVERIES_PER_PAGE - 1].pk if len(page) > DELIVERIES_PER_PAGE else None,
        "paged": before is not None,
    }, status=status)


@require_POST
def change_events(request, pk):
    endpoint = endpoint_for(request, pk)
    form = EventsForm(request.POST, instance=endpoint)
    if not form.is_valid():
        return _detail(request, endpoint, form=form, status=400)
    form.save()
    messages.success(request, "The events are saved.")
    return redirect(endpoint)


@require_POST
def rotate_secret(request, pk):
    endpoint = endpoint_for(request, pk)
    endpoint.rotate_secret()
    _show_secret_once(request, endpoint)
    messages.success(request, "A new secret is made: messages from now on are signed with it. "
                              "Put it in your receiver; the old one no longer works.")
    return redirect(endpoint)


@require_POST
def switch(request, pk):
    endpoint = endpoint_for(request, pk)
    if request.POST.get("on") == "1":
        with transaction.atomic():
            endpoint.switch_on()
        messages.success(request, "Switched on: messages are sent again, starting with any "
                                  "still owed.")
    else:
        endpoint.switch_off("Switched off by hand.")
        messages.success(request, "Switched off: nothing is sent until you switch it on again.")
    return redirect(endpoint)


@require_POST
def send_test(request, pk):
    endpoint = endpoint_for(request, pk)
    if wait := ratelimit.wait_for(TESTS, endpoint.pk):
        messages.error(request, f"Several test messages were sent in the last hour. Send "
                                f"another in {wait // 60 + 1} minutes.")
    elif not endpoint.enabled:
        messages.error(request, "This endpoint is switched off: switch it on to send a test.")
    else:
        events.send_test(endpoint, request.user)
        messages.success(request, "A test message is on its way; its tries appear below in a "
                                  "few seconds (reload the page).")
    return redirect(endpoint)


@require_POST
def delete(request, pk):
    endpoint = endpoint_for(request, pk)
    endpoint.delete()
    messages.success(request, f"The endpoint {endpoint.url} is deleted: nothing more is sent "
                              "to it.")
    return redirect("webhooks")
