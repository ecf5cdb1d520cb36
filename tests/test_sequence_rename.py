"""Renaming a sequence: whoever may change it (its owner; on a team's project, the team) renames
it from its page; anybody else gets 404, staff included; a refused name leaves it as it was."""

import pytest
from django.urls import reverse

from sequences.models import Sequence
from tests.composer import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def own(owner):
    return Sequence.objects.create(name="Rough cut", owner=owner)


@pytest.fixture
def shared(owner, project):
    return Sequence.objects.create(name="Harbour trailer", owner=owner, project=project)


def rename(user, sequence, name):
    return signed_in(user).post(reverse("sequence-rename", args=[sequence.pk]), {"name": name})


def test_its_page_offers_renaming_with_the_current_name(owner, own):
    page = signed_in(owner).get(reverse("sequence", args=[own.pk])).content.decode()
    assert 'data-role="rename"' in page and 'value="Rough cut"' in page


def test_it_renames_the_owners_own_sequence(owner, own):
    response = rename(owner, own, "  Final cut  ")
    assert response.status_code == 302 and response.url == own.get_absolute_url()
    own.refresh_from_db()
    assert own.name == "Final cut"


def test_a_teammate_renames_the_teams_sequence(teammate, shared):
    assert rename(teammate, shared, "Trailer, second pass").status_code == 302
    shared.refresh_from_db()
    assert shared.name == "Trailer, second pass"


@pytest.mark.parametrize("who", ["other", "staff"])
def test_anybody_else_gets_not_found_and_the_name_stays(request, who, own, shared):
    user = request.getfixturevalue(who)
    for sequence, name in ((own, "Rough cut"), (shared, "Harbour trailer")):
        assert rename(user, sequence, "Mine now").status_code == 404
        sequence.refresh_from_db()
        assert sequence.name == name


def test_a_teammate_who_left_the_team_gets_not_found(teammate, team, shared):
    team.members.remove(teammate)
    assert rename(teammate, shared, "Gone").status_code == 404


@pytest.mark.parametrize("name", ["", "   ", "x" * 81])
def test_a_refused_name_is_said_beside_the_field_and_nothing_changes(owner, own, name):
    response = rename(owner, own, name)
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="field-name"' in page and 'class="error"' in page
    assert "<h1>Rough cut</h1>" in page
    own.refresh_from_db()
    assert own.name == "Rough cut"


def test_renaming_is_a_post(owner, own):
    assert signed_in(owner).get(reverse("sequence-rename", args=[own.pk])).status_code == 405
