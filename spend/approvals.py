"""Approvals: when a submission must wait for a person's word before money is spent on it.

Budgets only refuse; a producer also wants to be asked before an expensive job goes out, or
before the last of a budget goes. So a team's budget (for the jobs in its projects), and the
default budget (for every other job), may set two rules:

- `approve_over`: a submission estimated at more than this, all its takes together, waits;
- `approve_past_percent`: once a submission would take the budget's committed share (spent and
  held, `budgets.Standing.share`) past this percentage, it waits. A team project's job is
  measured against the team's budget, any other job against its owner's own budget.

A waiting submission holds its estimate like a queued one (`budgets.HOLDING`), so nobody can
spend past a budget while it waits, but nothing is queued and nothing reaches ShortAPI.

Who decides: a team project's job, the team's approvers (members marked so in the admin); any
job, staff. Nobody but staff decides on their own job: a team approver's own submission goes to
another approver or to staff.

Approving releases every take of the submission together (all or none) and queues them; it runs
in one transaction that locks the owner's row, then the team's (the order of `budgets.hold`),
and checks again that what is spent, plus what is held by jobs already released, plus this
submission fits the owner's budget and the team's. Other waiting jobs do not count there: they
are asks, not spend. So two approvals at a budget's edge are counted one after the other and
only one goes; the other is refused, in words, and keeps waiting. Declining sends the first take
back to its owner as a draft (holding nothing) and deletes the other takes made for it.

Every decision is recorded (`spend.models.Decision`) and announced (`jobs.signals`).
"""

from decimal import Decimal

from django.db import transaction
from django.db.models import Q, Sum
from django.utils.text import capfirst

from jobs import catalogue, tasks
from jobs.models import Job
from jobs.signals import announce, approval_decided, approval_needed
from spend import budgets
from spend.models import Budget, Decision
from teams.models import Team

WAITING = Job.Status.WAITING
NOTE_LENGTH = Decision.NOTE_LENGTH


class Refused(Exception):
    """A decision that cannot be made now; its message says why and what to do."""


def rules_for(project):
    """The Budget row whose approval rules apply to a job in `project` (the team's for a team's
    project, else the default), or None when it has none."""
    if project is not None and project.team_id is not None:
        row = Budget.objects.filter(team_id=project.team_id).first()
    else:
        row = Budget.objects.filter(user=None, team=None).first()
    return row if row is not None and row.has_approval_rule else None


def reason_to_wait(person, project, total):
    """Why a submission estimated at `total` (every take) must wait for an approver, in a
    person's words, or "" when it may go at once. Called under `budgets.hold`'s locks."""
    rules = rules_for(project)
    if rules is None:
        return ""
    money = catalogue.format_money
    if rules.approve_over is not None and total > rules.approve_over:
        return (f"it is estimated at {money(total)}, more than the {money(rules.approve_over)} "
                "that can be sent without approval")
    if rules.approve_past_percent is not None:
        team = project.team if project is not None and project.team_id else None
        standing = budgets.team_standing(team) if team else budgets.standing(person)
        if standing.budget:
            after = (standing.committed + total) / standing.budget * 100
            if after > rules.approve_past_percent:
                whose = f'the team "{team.name}"\'s budget' if team else "your budget"
                return (f"with it, {int(min(after, Decimal(999)))} % of {whose} is spent or "
                        f"held, past the {rules.approve_past_percent} % after which every job "
                        "is approved first")
    return ""


def announce_waiting(first):
    announce(approval_needed, Job, pk=first.pk)


def approver_teams(user):
    """The teams whose waiting jobs this person may decide on (as an approver and a member)."""
    return Team.objects.filter(approvers=user, members=user)


def is_approver(user):
    return user.is_staff or approver_teams(user).exists()


def waiting_for(user):
    """The submissions (their first takes) waiting for this person's word, oldest first."""
    jobs = Job.objects.filter(status=WAITING, take_number=1)
    if not user.is_staff:
        jobs = jobs.filter(project__team__in=approver_teams(user)).exclude(owner=user)
    return jobs.select_related("owner", "project__team").order_by("created_at", "id")


def may_decide(user, job):
    return job.status == WAITING and waiting_for(user).filter(pk=job.pk).exists()


def may_see_frames(user, job):
    """An approver may see the frames of a waiting job they may decide on (not its owner's
    teammate by right: they see it anyway)."""
    return job.status == WAITING and (
        user.is_staff or job.project_id is not None and job.owner_id != user.pk
        and approver_teams(user).filter(projects=job.project_id).exists())


def first_take(job):
    if job.take_group and job.take_number != 1:
        return Job.objects.filter(take_group=job.take_group, take_number=1).first() or job
    return job


def takes_of(job):
    return Job.objects.filter(job._submission())


def total_of(job):
    """What a waiting submission holds: the estimates of all its takes still waiting."""
    return (takes_of(job).filter(status=WAITING).aggregate(total=Sum("estimate"))["total"]
            or Decimal("0"))


def who_approves(job):
    """Who may release this job, in words: the team's approvers by name, or an admin."""
    names = []
    if job.project is not None and job.project.team_id is not None:
        team = job.project.team
        names = [person.get_username() for person in
                 team.approvers.filter(teams=team).exclude(pk=job.owner_id).order_by("username")]
    if names:
        return f"{', '.join(names)} (approvers of {job.project.team.name}) or an admin"
    return "an admin"


def rules_in_words(project):
    """The approval rules that apply in `project`, as a sentence, or ""."""
    rules = rules_for(project)
    if rules is None:
        return ""
    money = catalogue.format_money
    asks = []
    if rules.approve_over is not None:
        asks.append(f"every submission over {money(rules.approve_over)}")
    if rules.approve_past_percent is not None:
        whose = "the team's budget" if rules.team_id else "your budget"
        asks.append(f"every job once {whose} is past {rules.approve_past_percent} %")
    return f"Here {' and '.join(asks)} is approved before it is sent."


SENT_FOR_APPROVAL = ("Sent for approval, not to Kling yet: nothing is charged unless an "
                     "approver says yes. This page tells you who can, and what they decide.")


def waiting_message(job):
    return " ".join(filter(None, [
        "This video waits for approval: nothing is sent to Kling and nothing is charged yet.",
        rules_in_words(job.project),
        f"{capfirst(who_approves(job))} can approve it; its estimate "
        "is held against the budget meanwhile. You will be told on this page, in the activity "
        "of every page, and by e-mail if you asked for finish e-mails."]))


def after_approval(job):
    """The owner's standing (and the team's) if the submission were released now: what an
    approver sees as the budget after it, as (label, left or None) pairs."""
    total = total_of(job)
    own = budgets.standing(job.owner, holding=budgets.RELEASED)
    rows = [(f"{job.owner.get_username()}'s budget", _left_after(own, total))]
    if job.project is not None and job.project.team_id is not None:
        shared = budgets.team_standing(job.project.team, holding=budgets.RELEASED)
        rows.append((f"the team {job.project.team.name}'s", _left_after(shared, total)))
    return rows


def _left_after(standing, total):
    return None if standing.budget is None else standing.budget - standing.committed - total


def approve(approver, job, note=""):
    """Release a waiting submission and queue its takes, or raise Refused (nothing changes:
    it keeps waiting)."""
    job = first_take(job)
    with transaction.atomic():
        team = budgets.lock(job.owner, job.project)
        job.refresh_from_db()
        _check_still_waiting(job)
        total = total_of(job)
        _check_fits(budgets.standing(job.owner, holding=budgets.RELEASED), total, job)
        if team is not None:
            _check_fits(budgets.team_standing(team, holding=budgets.RELEASED), total, job, team)
        takes = list(takes_of(job).filter(status=WAITING).order_by("take_number"))
        if not job.approve():
            raise Refused(ALREADY_DECIDED)
        for take in takes:
            tasks.enqueue_submission(take)
        _record(approver, job, total, len(takes), True, note)
    return job


def decline(approver, job, note):
    """Send a waiting submission back to its owner as a draft, with `note`."""
    job = first_take(job)
    with transaction.atomic():
        budgets.lock(job.owner, job.project)
        job.refresh_from_db()
        _check_still_waiting(job)
        total, takes = total_of(job), takes_of(job).filter(status=WAITING).count()
        if not job.decline():
            raise Refused(ALREADY_DECIDED)
        _record(approver, job, total, takes, False, note)
    return job


ALREADY_DECIDED = ("This job is no longer waiting: someone else decided on it a moment ago. "
                   "Nothing more was changed.")


def _check_still_waiting(job):
    if job.status != WAITING:
        raise Refused(ALREADY_DECIDED)


def _check_fits(standing, total, job, team=None):
    if standing.budget is None or standing.committed + total <= standing.budget:
        return
    money = catalogue.format_money
    whose = (f'the team "{team.name}" has only {money(standing.left)} left of its'
             if team is not None else
             f"{job.owner.get_username()} has only {money(standing.left)} left of their")
    raise Refused(
        f"Not approved: {job.display_title} is estimated at {money(total)}, but {whose} "
        f"{money(standing.budget)} budget once the jobs "
        f"already approved are counted (it resets on {standing.resets_on}). It keeps waiting: "
        "approve it when other jobs have finished or the budget is raised by an admin, or "
        "decline it with a note.")


def _record(approver, job, total, takes, approved, note):
    Decision.objects.create(job=job, take_group=job.take_group if approved else None,
                            requester=job.owner, approver=approver, title=job.display_title,
                            takes=takes, estimate=total, approved=approved,
                            note=note[:NOTE_LENGTH])
    announce(approval_decided, Job, pk=job.pk, approved=approved, note=note[:NOTE_LENGTH])


def decisions_on(job):
    """The decisions recorded on a job (its submission's first take), newest first."""
    job = first_take(job)
    return Decision.objects.filter(Q(job=job) | Q(take_group=job.take_group)
                                   if job.take_group else Q(job=job)).select_related("approver")


def menu(request):
    """Context processor: `approvals_waiting` is None for a person who approves nothing, else
    how many submissions wait for them (the menu's link). Read only when the menu is drawn."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"approvals_waiting": lambda: waiting_for(user).count() if is_approver(user)
            else None}
