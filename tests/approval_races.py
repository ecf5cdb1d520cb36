"""Two approvers approving two waiting submissions of one team at the same instant, when the
team's budget has room for only one of them, on a real database with real threads.

    DATABASE_URL=postgres://... python -m tests.approval_races ROUNDS

Each round makes a fresh team whose budget was lowered after two submissions (by two members)
were held waiting, so that either fits alone and both together do not; two approvers then
approve one each at once (a barrier). Their owners' own budgets have room, so only the team's
lock and the re-check under it can keep them apart. Prints one JSON object: which submission
went in each round, and every round that broke a rule (not exactly one approved, the other not
left waiting, money committed past the budget, tasks queued for the refused one). The test in
test_approvals.py runs it against PostgreSQL and asserts there were none.
"""

import json
import os
import sys
from collections import Counter
from decimal import Decimal
from unittest import mock

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "klingstudio.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402

from jobs import tasks  # noqa: E402
from jobs.models import Job  # noqa: E402
from spend import approvals, budgets  # noqa: E402
from spend.models import Budget, Decision  # noqa: E402
from teams.models import Project, Team  # noqa: E402
from tests.races import race  # noqa: E402

S = Job.Status
MODEL = "kwaivgi/kling-2.6/image-to-video"
ESTIMATE = Decimal("0.600")
EDGE = Decimal("1.00")  # room for one submission of 0.60 once the other is released


def waiting_job(owner, project):
    return Job.objects.create(owner=owner, project=project, model_id=MODEL, mode="pro",
                              duration=10, prompt="approval race", estimate=ESTIMATE,
                              status=S.WAITING)


def team_at_its_edge(number, requesters, deciders):
    team = Team.objects.create(name=f"approval-race-{number}")
    team.members.add(*requesters, *deciders)
    team.approvers.add(*deciders)
    rule = Budget.objects.create(team=team, amount=Decimal("10"), approve_over=Decimal("0.10"))
    project = Project.objects.create(name="edge", team=team)
    jobs = [waiting_job(person, project) for person in requesters]
    rule.amount = EDGE  # lowered after both were held
    rule.save()
    return team, jobs


def approve(approver, pk):
    try:
        approvals.approve(approver, Job.objects.get(pk=pk))
    except approvals.Refused:
        return "refused"
    return "approved"


def one_round(number, requesters, deciders, queued):
    team, jobs = team_at_its_edge(number, requesters, deciders)
    queued.clear()
    results = race(lambda: approve(deciders[0], jobs[0].pk),
                   lambda: approve(deciders[1], jobs[1].pk))
    broken = []
    if sorted(results) != ["approved", "refused"]:
        broken.append(f"round {number}: {results}")
    statuses = [Job.objects.get(pk=job.pk).status for job in jobs]
    expected = [S.QUEUED if result == "approved" else S.WAITING for result in results]
    if statuses != expected:
        broken.append(f"round {number}: jobs ended {statuses} for {results}")
    released = budgets.team_standing(team, holding=budgets.RELEASED)
    if released.committed > EDGE:
        broken.append(f"round {number}: the team released {released.committed} of {EDGE}")
    sent = [job.pk for job, result in zip(jobs, results) if result == "approved"]
    if sorted(queued) != sent:
        broken.append(f"round {number}: tasks queued for {queued}, approved {sent}")
    if Decision.objects.filter(job__in=jobs).count() != results.count("approved"):
        broken.append(f"round {number}: decisions recorded do not match {results}")
    winner = "first" if results == ["approved", "refused"] else (
        "second" if results == ["refused", "approved"] else "nobody")
    return winner, broken


def main(rounds):
    requesters = [User.objects.get_or_create(username=name)[0] for name in ("ada", "ben")]
    deciders = [User.objects.get_or_create(username=name)[0] for name in ("cy", "dot")]
    for person in requesters:
        Budget.objects.update_or_create(user=person, defaults={"amount": Decimal("1000")})
    queued = []
    winners, broken = Counter(), []
    # the workers are not part of the race: record what would be queued, once committed
    with mock.patch.object(tasks, "async_task", lambda func, pk, **kw: queued.append(pk)):
        for number in range(rounds):
            winner, problems = one_round(number, requesters, deciders, queued)
            winners[winner] += 1
            broken += problems
    print(json.dumps({"winners": dict(winners), "broken": broken}))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
