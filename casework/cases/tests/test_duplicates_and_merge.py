"""Duplicate review and merge: the nightly job finds likely pairs by blocking on the blind index,
a supervisor merges two records of one person (choosing each conflicting detail), and an unmerge
within the window restores exactly, keeping what was done since where it was done."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casework.audit.models import AuditEntry
from casework.cases import merging, services
from casework.cases.models import Case, Consent, PersonMerge, Status
from casework.cases.timeline import case_timeline
from casework.core.errors import CaseworkError, NotAllowed
from casework.indicators.periods import parse_period
from casework.indicators.report import build_report
from casework.people import duplicates
from casework.people import services as people
from casework.people.models import DuplicateCandidate, Person, PersonNameIndex, Relationship
from casework.people.services import link_persons, matching_person_ids


def _planned(case: Case, by: Any) -> Case:
    services.transition_case(case, to=Status.ASSESSED, by=by)
    services.transition_case(case, to=Status.PLANNED, by=by)
    return case


def _report(case: Case) -> list[dict[str, Any]]:
    report = build_report(
        agency_id=case.agency_id,
        agency_code=case.agency.code,
        period=parse_period(str(timezone.localdate().year)),
        by=[("sex",), ("age_group",)],
        min_cell=1,
    )
    return [indicator.as_json() for indicator in report.indicators]


@pytest.fixture
def twins(register: Any, amina: Any) -> tuple[Case, Case]:
    """One young woman registered twice, the second time with her name spelt differently."""
    first = register(amina, given_name="Fatoumata", family_name="Traoré", age=19)
    second = register(amina, given_name="Fatoumata", family_name="Traore", age=20)
    return first, second


def test_the_nightly_job_finds_the_pair_and_nothing_else(
    twins: tuple[Case, Case], register: Any, amina: Any
) -> None:
    register(amina, given_name="Moussa", family_name="Keita", age=40)
    first, second = twins
    assert duplicates.find_duplicates(amina.agency_id) == 1
    pair = DuplicateCandidate.objects.get()
    assert {pair.first_id, pair.second_id} == {first.person_id, second.person_id}
    assert pair.score >= duplicates.MIN_SCORE and "same_name" in pair.reasons  # accents aside
    assert duplicates.find_duplicates(amina.agency_id) == 1  # again: the same pair, once
    assert DuplicateCandidate.objects.count() == 1


def test_a_common_name_sound_alone_forms_no_block(
    register: Any, amina: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(duplicates, "BLOCK", 3)
    # Five persons share the sound of "Mohamed", too common to compare them all; their family
    # names sound alike to no one.
    for family in ("Diallo", "Keita", "Sow", "Ba", "Kone"):
        register(amina, given_name="Mohamed", family_name=family)
    assert duplicates.candidate_pairs(amina.agency_id) == []


def test_a_typo_that_changes_a_name_sound_still_finds_the_pair(register: Any, amina: Any) -> None:
    # "Kalomba" and "Kaloba" sound different (KLMB, KLB): the pair shares one sound only, but a
    # sound so rare that comparing everyone who has it costs nothing.
    first = register(amina, given_name="Ngozika", family_name="Kalomba", age=30)
    second = register(amina, given_name="Ngozika", family_name="Kaloba", age=30)
    register(amina, given_name="Moussa", family_name="Keita", age=40)
    assert duplicates.find_duplicates(amina.agency_id) == 1
    pair = DuplicateCandidate.objects.get()
    assert {pair.first_id, pair.second_id} == {first.person_id, second.person_id}


def test_one_shared_sound_is_not_enough_once_it_is_not_very_rare(
    register: Any, amina: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(duplicates, "TINY", 2)
    for family in ("Diallo", "Keita", "Sow"):
        register(amina, given_name="Ngozika", family_name=family)
    assert duplicates.candidate_pairs(amina.agency_id) == []
    monkeypatch.setattr(duplicates, "TINY", 3)
    assert len(duplicates.candidate_pairs(amina.agency_id)) == 3


def test_the_supervisor_merges_choosing_each_detail(
    login: Any, twins: tuple[Case, Case], amina: Any, sam: Any
) -> None:
    first, second = twins
    duplicates.find_duplicates(amina.agency_id)
    client = login(sam)
    assert (
        f"/persons/{first.person_id}/merge/{second.person_id}/"
        in client.get("/persons/duplicates/").content.decode()
    )
    page = client.get(f"/persons/{first.person_id}/merge/{second.person_id}/").content.decode()
    assert 'name="family_name"' in page and 'name="estimated_age"' in page
    response = client.post(
        f"/persons/{first.person_id}/merge/{second.person_id}/",
        {"family_name": "survivor", "estimated_age": "merged"},
    )
    assert response.status_code == 302
    survivor = Person.objects.get(pk=first.person_id)
    merged = Person.objects.get(pk=second.person_id)
    assert survivor.family_name == "Traoré" and survivor.estimated_age == 20
    assert merged.merged_into == survivor
    assert set(survivor.cases.values_list("pk", flat=True)) == {first.pk, second.pk}
    assert not PersonNameIndex.objects.filter(person=merged).exists()
    assert merged.pk not in {row["person_id"] for row in matching_person_ids("Fatoumata")}
    assert DuplicateCandidate.objects.get().status == "merged"
    entry = AuditEntry.objects.get(action="people.person.merged")
    assert entry.data["merged"] == merged.pk and entry.data["fields"] == ["estimated_age"]


def test_every_conflicting_detail_needs_a_choice(twins: tuple[Case, Case], sam: Any) -> None:
    first, second = twins
    with pytest.raises(CaseworkError) as missing:
        merging.merge_persons(first.person, second.person, by=sam, choices={})
    assert set(missing.value.errors) == {"family_name", "estimated_age"}  # type: ignore[attr-defined]
    assert Person.objects.get(pk=second.person_id).merged_into is None


def test_records_of_two_agencies_are_never_merged(
    twins: tuple[Case, Case], register: Any, xena: Any, sam: Any
) -> None:
    theirs = register(xena)
    with pytest.raises(NotAllowed):
        merging.merge_persons(twins[0].person, theirs.person, by=sam, choices={})


@pytest.mark.parametrize("who", ["amina", "omar", "olga", "paul", "mei", "priya", "adam", "xena"])
def test_only_a_supervisor_who_may_change_both_merges(
    who: str, request: pytest.FixtureRequest, login: Any, twins: tuple[Case, Case]
) -> None:
    first, second = twins
    client = login(request.getfixturevalue(who))
    url = f"/persons/{first.person_id}/merge/{second.person_id}/"
    assert client.get(url).status_code == 404
    choices = {"family_name": "survivor", "estimated_age": "survivor"}
    assert client.post(url, choices).status_code == 404
    assert Person.objects.get(pk=second.person_id).merged_into is None


def test_merge_then_unmerge_restores_and_keeps_what_was_done_since(
    login: Any, twins: tuple[Case, Case], register: Any, amina: Any, sam: Any
) -> None:
    first, second = twins
    caregiver = services.new_relative(second.person, by=amina, given_name="Hawa")
    link_persons(second.person, caregiver, kind="parent", is_caregiver=True, by=amina)
    services.record_consent(
        second,
        by=amina,
        details=services.ConsentDetails(receive_services=True, given_by="caregiver"),
    )
    before_consent = Consent.objects.filter(case=second).order_by("pk").last().caregiver_id  # type: ignore[union-attr]
    assert before_consent == caregiver.pk
    merge = merging.merge_persons(
        first.person,
        second.person,
        by=sam,
        choices={"family_name": "merged", "estimated_age": "survivor"},
    )
    survivor = Person.objects.get(pk=first.person_id)
    assert Consent.objects.filter(case=second, caregiver=caregiver).exists()
    assert Relationship.objects.filter(person=survivor, relative=caregiver).exists()
    # Since the merge: a note on the moved case, a correction, a new case for the survivor.
    services.add_note(second, by=amina, text="After the merge.", contact_type="phone")
    details = people.details_of(survivor)
    details.nationality = "Malian"
    people.correct_person(survivor, by=amina, details=details, reason="Asked")
    newer = services.open_case(
        survivor,
        by=amina,
        details=services.CaseDetails(programme=first.programme),
        consent=None,
    )
    response = login(sam).post(f"/persons/merges/{merge.pk}/undo/")
    assert response.status_code == 302
    survivor.refresh_from_db()
    merged = Person.objects.get(pk=second.person_id)
    assert merged.merged_into is None
    assert survivor.family_name == "Traoré"  # restored
    assert survivor.nationality == "Malian"  # corrected since: kept
    assert set(survivor.cases.values_list("pk", flat=True)) == {first.pk, newer.pk}
    assert list(merged.cases.values_list("pk", flat=True)) == [second.pk]
    assert [n.text for n in second.notes.all()] == ["After the merge."]  # back with its case
    assert Consent.objects.filter(case=second, caregiver_id=before_consent).exists()
    assert Relationship.objects.filter(person=merged, relative=caregiver).exists()
    assert not Relationship.objects.filter(person=survivor, relative=caregiver).exists()
    assert merged.pk in {row["person_id"] for row in matching_person_ids("Traore")}
    assert DuplicateCandidate.objects.filter(status="dismissed").count() <= 1
    with pytest.raises(CaseworkError):
        merging.unmerge(merge, by=sam)  # once


def test_an_old_merge_can_no_longer_be_undone(twins: tuple[Case, Case], sam: Any) -> None:
    first, second = twins
    merge = merging.merge_persons(
        first.person,
        second.person,
        by=sam,
        choices={"family_name": "survivor", "estimated_age": "survivor"},
    )
    PersonMerge.objects.filter(pk=merge.pk).update(
        merged_at=timezone.now() - datetime.timedelta(days=91)
    )
    merge.refresh_from_db()
    with pytest.raises(CaseworkError) as late:
        merging.unmerge(merge, by=sam)
    assert late.value.code == "too_late"


def test_a_merged_person_is_counted_once_and_plan_sharing_follows(
    twins: tuple[Case, Case], amina: Any, sam: Any
) -> None:
    from casework.plans import services as plan_services
    from casework.plans.tests.conftest import content

    first, second = twins
    for case in twins:
        _planned(case, amina)
    plan_services.create_plan(first, by=amina, content=content())
    plan_services.create_plan(second, by=amina, content=content())
    before = _report(first)
    children = next(i for i in before if i["code"] == "CM_CHILDREN_YOUTH")
    assert children["value"] == 2
    assert Case.objects.get(pk=first.pk).plan_text_shared  # another person has the same text
    merge = merging.merge_persons(
        first.person,
        second.person,
        by=sam,
        choices={"family_name": "survivor", "estimated_age": "survivor"},
    )
    after = next(i for i in _report(first) if i["code"] == "CM_CHILDREN_YOUTH")
    assert after["value"] == 1
    assert not Case.objects.get(pk=first.pk).plan_text_shared  # the same person's text now
    merging.unmerge(merge, by=sam)
    assert _report(first) == before
    assert Case.objects.get(pk=first.pk).plan_text_shared


def test_the_api_lists_merges_and_unmerges(
    login: Any, twins: tuple[Case, Case], amina: Any, sam: Any
) -> None:
    first, second = twins
    duplicates.find_duplicates(amina.agency_id)
    client = login(sam)
    listed = client.get("/api/v1/persons/duplicates").json()
    assert len(listed) == 1 and listed[0]["first"]["visible"] and listed[0]["second"]["visible"]
    tag = client.get(f"/api/v1/persons/{first.person_id}").headers["ETag"]
    merged = client.post(
        f"/api/v1/persons/{first.person_id}/merge",
        {
            "other": second.person_id,
            "choices": {"family_name": "survivor", "estimated_age": "merged"},
        },
        content_type="application/json",
        headers={"If-Match": tag},
    )
    assert merged.status_code == 201, merged.json()
    assert sorted(merged.json()["moved_cases"]) == [second.pk]
    tag = merged.headers["ETag"]
    undone = client.post(
        f"/api/v1/persons/merges/{merged.json()['id']}/unmerge", headers={"If-Match": tag}
    )
    assert undone.status_code == 200, undone.json()
    assert Person.objects.get(pk=second.person_id).merged_into is None
    assert login(amina).get("/api/v1/persons/duplicates").status_code == 404


def test_another_teams_or_agencys_supervisor_can_neither_dismiss_nor_undo(
    login: Any,
    twins: tuple[Case, Case],
    amina: Any,
    sam: Any,
    olga: Any,
    xena: Any,
    make_user: Any,
) -> None:
    from casework.audit.models import AuditEntry

    first, second = twins
    duplicates.find_duplicates(amina.agency_id)
    pair = DuplicateCandidate.objects.get()
    elsewhere = make_user("zoe", agency=xena.agency, team=xena.team, role="supervisor")
    for outsider in (olga, elsewhere):
        client = login(outsider)
        assert client.post(f"/persons/duplicates/{pair.pk}/dismiss/").status_code == 404
        assert client.post(f"/api/v1/persons/duplicates/{pair.pk}/dismiss").status_code == 404
    assert DuplicateCandidate.objects.get().status == DuplicateCandidate.Status.OPEN
    merge = merging.merge_persons(
        first.person,
        second.person,
        by=sam,
        choices={"family_name": "survivor", "estimated_age": "survivor"},
    )
    tag = login(sam).get(f"/api/v1/persons/{first.person_id}").headers["ETag"]
    for outsider in (olga, elsewhere):
        client = login(outsider)
        assert client.post(f"/persons/merges/{merge.pk}/undo/").status_code == 404
        answer = client.post(
            f"/api/v1/persons/merges/{merge.pk}/unmerge", headers={"If-Match": tag}
        )
        assert answer.status_code == 404
        assert "Fatoumata" not in answer.content.decode()
    assert Person.objects.get(pk=second.person_id).merged_into_id == first.person_id
    assert AuditEntry.objects.filter(action="people.merge.denied").exists()
    assert AuditEntry.objects.filter(action="people.duplicate.denied").exists()


def test_a_pair_across_teams_is_only_a_hint(register: Any, amina: Any, omar: Any, sam: Any) -> None:
    register(amina, given_name="Salif", family_name="Coulibaly", age=20)
    register(omar, given_name="Salif", family_name="Kulibali", age=20)
    duplicates.find_duplicates(amina.agency_id)
    pairs = merging.duplicates_for(sam)
    assert len(pairs) == 1 and (pairs[0].first_visible, pairs[0].second_visible) == (True, False)


# --- merge then unmerge leaves everything as it was -----------------------------------------------


def _snapshot(cases: list[Case], person_ids: list[int]) -> dict[str, Any]:
    fresh = [Case.objects.select_related("person").get(pk=case.pk) for case in cases]
    return {
        "report": _report(cases[0]),
        "consents": list(
            Consent.objects.filter(case__in=cases)
            .order_by("pk")
            .values("pk", "case_id", "caregiver_id", "given_by", "receive_services")
        ),
        "timelines": [
            [
                (e.kind, e.on, e.actor.pk if e.actor else None, getattr(e.item, "pk", None))
                for e in case_timeline(case)
            ]
            for case in fresh
        ],
        "owners": [(case.pk, case.person_id, case.age_at_registration) for case in fresh],
        "persons": [
            json.dumps(
                {name: str(getattr(p, name)) for name in people.PERSON_FIELDS}, sort_keys=True
            )
            for p in Person.objects.filter(pk__in=person_ids).order_by("pk")
        ],
        "links": sorted(
            Relationship.objects.filter(person_id__in=person_ids).values_list(
                "person_id", "relative_id", "kind", "is_caregiver"
            )
        ),
    }


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    ages=st.tuples(st.integers(0, 30), st.integers(0, 30)),
    sexes=st.tuples(st.sampled_from(["female", "male"]), st.sampled_from(["female", "male"])),
    steps=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    take=st.lists(st.booleans(), min_size=12, max_size=12),
    linked=st.booleans(),
)
def test_merge_then_unmerge_changes_no_figure_consent_or_timeline(
    register: Any,
    amina: Any,
    sam: Any,
    ages: tuple[int, int],
    sexes: tuple[str, str],
    steps: tuple[int, int],
    take: list[bool],
    linked: bool,
) -> None:
    cases = [
        register(amina, given_name="Awa", family_name=f"Sangare{i}", age=age)
        for i, age in enumerate(ages)
    ]
    for case, sex, step in zip(cases, sexes, steps, strict=True):
        Person.objects.filter(pk=case.person_id).update(sex=sex)
        if step >= 1:
            services.transition_case(case, to=Status.ASSESSED, by=amina)
        if step >= 2:
            services.transition_case(case, to=Status.PLANNED, by=amina)
    if linked:
        link_persons(cases[0].person, cases[1].person, kind="sibling", by=amina)
    ids = [case.person_id for case in cases]
    before = _snapshot(cases, ids)
    survivor, merged = (Person.objects.get(pk=pk) for pk in ids)
    choices = {
        name: "merged" if take[i] else "survivor"
        for i, name in enumerate(merging.conflicts(survivor, merged))
    }
    merge = merging.merge_persons(survivor, merged, by=sam, choices=choices)
    merging.unmerge(merge, by=sam)
    assert _snapshot(cases, ids) == before
