"""Budgets over the real stack: a refused submission sends nothing to ShortAPI, and many
submissions fired at once at the edge of a budget cannot overspend it (on PostgreSQL, where
requests really run in parallel, and on the embedded default)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import image_bytes, require
from tests.stack import (Stack, csrf_token, postgres_available, redis_available,
                         wait_until_finished)

pytestmark = pytest.mark.integration
FRAME = image_bytes(640, 360, (40, 90, 160))
FIELDS = {"model": "kwaivgi/kling-2.6/image-to-video", "mode": "pro", "duration": "5",
          "prompt": "Edge of the budget"}  # $0.30 each


@pytest.fixture(params=["embedded", "postgres-redis"])
def budget_stack(request, tmp_path):
    if request.param == "postgres-redis":
        require(postgres_available(), "PostgreSQL at 127.0.0.1:5432")
        require(redis_available(), "Redis at 127.0.0.1:6379")
    stack = Stack(tmp_path, request.param, extra_env={"WEB_CONCURRENCY": "3"}).start()
    stack.manage("shell", "--no-imports", "-c", (
        "from django.contrib.auth.models import User; from spend.models import Budget;"
        "Budget.objects.create(user=User.objects.get(username='maya'), amount='0.90')"))
    yield stack
    stack.stop()


def test_concurrent_submissions_at_the_edge_of_a_budget_cannot_overspend_it(budget_stack,
                                                                             capsys):
    stack = budget_stack
    attempts = 12
    sessions = [stack.session() for _ in range(attempts)]
    tokens = [csrf_token(s.get(stack.url + "/jobs/new/").text) for s in sessions]
    start = threading.Barrier(attempts)

    def fire(index):
        start.wait()
        return sessions[index].post(
            stack.url + "/jobs/new/", data={"csrfmiddlewaretoken": tokens[index], **FIELDS},
            files={"start_frame": ("f.png", FRAME, "image/png")},
            headers={"Referer": stack.url}, timeout=60)

    with ThreadPoolExecutor(attempts) as pool:
        responses = list(pool.map(fire, range(attempts)))

    accepted = [r for r in responses if "/jobs/new/" not in r.url]
    refused = [r for r in responses if "/jobs/new/" in r.url]
    with capsys.disabled():
        print(f"\nbudget edge ({stack.backend}): {len(accepted)} accepted, {len(refused)} "
              f"refused of {attempts} at once")
    assert len(accepted) == 3
    assert all("of your $0.90 monthly budget is left" in r.text for r in refused)
    for response in accepted:
        assert wait_until_finished(sessions[0], response.url)[0]["status"] == "succeeded"
    stats = stack.simulator_stats()
    assert (stats["created"], stats["charged"]) == (3, "0.900")
    spend = sessions[0].get(stack.url + "/spend/").text
    assert 'data-role="spent">$0.90<' in spend and 'data-role="left">$0.00<' in spend


def test_a_submission_past_the_budget_sends_nothing_to_shortapi(budget_stack):
    stack = budget_stack
    session = stack.session()
    page = session.get(stack.url + "/jobs/new/")
    refused = session.post(stack.url + "/jobs/new/", headers={"Referer": stack.url},
                           data={"csrfmiddlewaretoken": csrf_token(page.text), **FIELDS,
                                 "duration": "10", "generate_audio": "on"},  # $1.20
                           files={"start_frame": ("f.png", FRAME, "image/png")})
    assert "/jobs/new/" in refused.url
    assert "estimated at $1.20, but only $0.90 of your $0.90 monthly budget" in refused.text
    assert stack.simulator_stats()["created"] == 0
