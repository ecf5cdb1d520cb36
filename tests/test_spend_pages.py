"""The pages that show money: a person's own spend, and the staff-only review and CSV export,
whose figures must agree with the ledger to the cent."""

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from spend.models import Budget

pytestmark = pytest.mark.django_db
KLING_26, KLING_30 = "kwaivgi/kling-2.6/image-to-video", "kwaivgi/kling-3.0/image-to-video"


def charged(make_job, user, model_id, amount, fail=False):
    job = make_job(user=user, model_id=model_id, mode="std" if model_id == KLING_30 else "pro")
    job.claim_for_submission()
    job.mark_submitted(f"sa-{job.pk}", Decimal(amount))
    if fail:
        job.mark_failed("Kling could not make this video.", refunded=True)
    return job


@pytest.fixture
def ledger(make_job, owner, other, at):
    """A known ledger: this month 0.600 + (1.070 - 1.070) for the owner, 0.715 for the other
    person; and 5.000 forty days ago, outside this month."""
    charged(make_job, owner, KLING_26, "0.600")
    charged(make_job, owner, KLING_30, "1.070", fail=True)
    charged(make_job, other, KLING_30, "0.715")
    with at(timezone.now() - timedelta(days=40)):
        charged(make_job, other, KLING_26, "5.000")


def figure(html, role):
    return re.search(rf'data-role="{role}">([^<]+)<', html).group(1)


def test_my_spend_shows_this_periods_spend_what_is_left_and_the_jobs_behind_it(
        client, owner, ledger, make_job):
    Budget.objects.create(user=owner, amount=Decimal("2"))
    make_job(estimate=Decimal("0.300"))  # queued: held
    client.force_login(owner)
    html = client.get(reverse("my-spend")).content.decode()
    assert figure(html, "spent") == "$0.60"
    assert figure(html, "held") == "$0.30"
    assert figure(html, "left") == "$1.10"
    bars = re.findall(r'data-value="([-0-9.]+)"', html)
    assert sum(Decimal(v) for v in bars) == Decimal("0.600")
    assert "Kling 3.0" in html and "$0.715" not in html  # the other person's spend stays theirs


@pytest.mark.parametrize("name", ["spend-review", "spend-review-csv"])
def test_only_staff_reach_the_review_and_the_export(client, owner, staff, name):
    url = reverse(name)
    assert client.get(url).status_code == 302
    client.force_login(owner)
    response = client.get(url)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    client.force_login(staff)
    assert client.get(url).status_code == 200


def test_the_review_agrees_with_the_ledger_to_the_cent(client, staff, ledger):
    client.force_login(staff)
    html = client.get(reverse("spend-review")).content.decode()
    assert figure(html, "total") == "$1.315"
    assert figure(html, "charged") == "$2.385"
    assert figure(html, "refunded") == "-$1.07"
    per_person = html.split('data-role="per-person"')[1].split("</table>")[0]
    assert re.findall(r"<td>(\w+)</td><td>\d+</td><td class=\"num\">([^<]+)<", per_person) == [
        ("oscar", "$0.715"), ("olivia", "$0.60")]
    bars = re.findall(r'data-value="([-0-9.]+)"', html)
    assert sum(Decimal(v) for v in bars) == Decimal("1.315")
    failed = html.split('data-role="failed"')[1].split("</table>")[0]
    assert "Kling could not make this video." in failed and "refunded by ShortAPI" in failed
    assert reverse("spend-review") in client.get(reverse("admin:index")).content.decode()


def test_the_csv_holds_exactly_the_ledger_entries_of_the_range(client, staff, ledger):
    client.force_login(staff)
    today = timezone.localdate()
    response = client.get(reverse("spend-review-csv"), {"first": today.replace(day=1),
                                                        "last": today})
    assert response["Content-Disposition"].startswith("attachment;")
    text = response.content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 4
    assert sum(Decimal(row["amount (USD)"]) for row in rows) == Decimal("1.315")
    assert sorted(row["kind"] for row in rows) == ["charge", "charge", "charge", "refund"]
    assert all(row["ShortAPI job"].startswith("sa-") for row in rows)
    assert {row["basis"] for row in rows} == {"answer", "reported"}
    everything = client.get(reverse("spend-review-csv"), {
        "first": today - timedelta(days=60), "last": today}).content.decode("utf-8-sig")
    assert sum(Decimal(r["amount (USD)"]) for r in csv.DictReader(io.StringIO(everything))) == \
        Decimal("6.315")


def test_a_reversed_range_is_explained_next_to_the_field(client, staff):
    client.force_login(staff)
    html = client.get(reverse("spend-review"), {"first": "2026-11-20",
                                                "last": "2026-11-01"}).content.decode()
    assert "The end date is before the start date" in html


def test_the_review_and_my_spend_show_a_failure_shortapi_did_not_refund_as_charged(
        client, owner, staff, make_job):
    job = charged(make_job, owner, KLING_26, "0.600")
    job.mark_failed("Kling could not make this video.", refunded=False)
    client.force_login(staff)
    failed = client.get(reverse("spend-review")).content.decode().split(
        'data-role="failed"')[1].split("</table>")[0]
    assert "failed, charged by ShortAPI" in failed and "$0.60" in failed
    client.force_login(owner)
    assert "failed, charged by ShortAPI" in client.get(reverse("my-spend")).content.decode()


def test_jobs_not_settled_yet_are_shown_as_held_or_overdue(client, owner, staff, make_job,
                                                            settings):
    settings.KLING_JOB_TIME_LIMIT_MINUTES = 60
    held = make_job(estimate=Decimal("0.300"))
    overdue = charged(make_job, owner, KLING_26, "0.600")
    from jobs.models import Job
    Job.objects.filter(pk=overdue.pk).update(submitted_at=timezone.now() - timedelta(hours=2))
    settled = charged(make_job, owner, KLING_26, "0.600")
    for user, page in ((owner, "my-spend"), (staff, "spend-review")):
        client.force_login(user)
        pending = client.get(reverse(page)).content.decode().split(
            'data-role="pending"')[1].split("</table>")[0]
        assert f"Job {held.pk}<" in pending and f"Job {overdue.pk}<" in pending
        assert f"Job {settled.pk}<" not in pending
        assert "(overdue)" in pending and "$0.30" in pending
