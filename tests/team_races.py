"""Two people of one team submitting into its project at the same instant, when the team's
budget has room for only one of them, on a real database with real threads.

    DATABASE_URL=postgres://... python -m tests.team_races ROUNDS

Each round makes a fresh team at the edge of its budget (a third member's charge and a queued
hold already count), lets both people hold and write their job at once (a barrier), as the
submission path does, and checks the team's money afterwards. Their own budgets have room, so
only the team's lock can keep them apart. Prints one JSON object: how often each person's
submission was the one held, and every round that broke a rule. The test in
test_team_budgets.py runs it against PostgreSQL and asserts there were none.
"""

import json
import os
import sys
from collections import Counter
from decimal import Decimal

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "klingstudio.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.db import transaction  # noqa: E402

from jobs.models import Job  # noqa: E402
from spend import budgets  # noqa: E402
from spend.models import Budget  # noqa: E402
from teams.models import Project, Team  # noqa: E402
from tests.races import race  # noqa: E402

S = Job.Status
MODEL = "kwaivgi/kling-2.6/image-to-video"
TEAM_BUDGET = Decimal("1.00")
CHARGED, QUEUED, ESTIMATE = Decimal("0.250"), Decimal("0.300"), Decimal("0.400")  # 0.45 left


def new_job(owner, project, status, estimate):
    return Job.objects.create(owner=owner, project=project, model_id=MODEL, mode="pro",
                              duration=5, prompt="team race", estimate=estimate, status=status)


def team_at_its_edge(number, people, third):
    team = Team.objects.create(name=f"race-{number}")
    team.members.add(*people, third)
    Budget.objects.create(team=team, amount=TEAM_BUDGET)
    project = Project.objects.create(name="edge", team=team)
    charged = new_job(third, project, S.SUBMITTING, CHARGED)
    assert charged.mark_submitted(f"sa-team-race-{number}", CHARGED)
    new_job(third, project, S.QUEUED, QUEUED)
    return team, project


def submit(person, project):
    """What the submission path does: the hold and the job row in one transaction."""
    try:
        with transaction.atomic():
            budgets.hold(person, ESTIMATE, project)
            new_job(person, project, S.QUEUED, ESTIMATE)
    except budgets.BudgetExceeded as refusal:
        return "refused by the team" if refusal.team is not None else f"refused: {refusal}"
    return "held"


def one_round(number, people, third):
    team, project = team_at_its_edge(number, people, third)
    results = race(lambda: submit(people[0], project), lambda: submit(people[1], project))
    broken = []
    if sorted(results) != ["held", "refused by the team"]:
        broken.append(f"round {number}: {results}")
    made = Job.objects.filter(project=project, owner__in=people).count()
    if made != results.count("held"):
        broken.append(f"round {number}: {made} jobs written for {results}")
    standing = budgets.team_standing(team)
    if standing.committed > TEAM_BUDGET:
        broken.append(f"round {number}: the team committed {standing.committed}")
    winner = people[results.index("held")].username if "held" in results else "nobody"
    return winner, broken


def main(rounds):
    people = [User.objects.get_or_create(username=name)[0] for name in ("ada", "ben")]
    third, _ = User.objects.get_or_create(username="cy")
    for person in people:
        # their own budgets have room for every round: only the team's can refuse
        Budget.objects.update_or_create(user=person, defaults={"amount": Decimal("1000")})
    winners, broken = Counter(), []
    for number in range(rounds):
        winner, problems = one_round(number, people, third)
        winners[winner] += 1
        broken += problems
    print(json.dumps({"winners": dict(winners), "broken": broken}))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
