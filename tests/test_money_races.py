"""No race between an admin and the workers can make money wrong: give-up against claim and
against resolve, stop-following against a callback's report, duplicate reports, a late create
answer against a callback. Real threads on PostgreSQL (tests/races.py), many rounds each."""

import pytest

from tests.conftest import require
from tests.stack import migrated_postgres, postgres_available, race_report

pytestmark = pytest.mark.integration
ROUNDS = 25


@pytest.fixture(scope="module")
def postgres_url():
    require(postgres_available(), "PostgreSQL at 127.0.0.1:5432")
    with migrated_postgres("kling_race") as url:
        yield url


def test_no_race_makes_money_wrong_on_postgresql(postgres_url, capsys):
    report = race_report("races", ROUNDS, postgres_url)
    with capsys.disabled():
        print("\nmoney races:", ", ".join(f"{name} {data['winners']}"
                                          for name, data in report.items()))
    assert {name: data["broken"] for name, data in report.items() if data["broken"]} == {}
    assert all(sum(data["winners"].values()) == ROUNDS for data in report.values())
    # both orders really happened in the races that have an order
    for name in ("give_up_against_claim", "give_up_against_resolve",
                 "stop_watching_against_refunded_failure"):
        assert len(report[name]["winners"]) == 2, (name, report[name])
