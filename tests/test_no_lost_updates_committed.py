"""The tests of test_no_lost_updates.py that commit (transactional), kept in a file of their own:
make test hands out whole files, and a transactional test leaves the database flushed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from casework.cases.models import Case
from casework.plans.models import CasePlan
from casework.referrals.models import Referral
from tests.test_no_lost_updates import PREFIX, _client


@pytest.mark.commits
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_of_two_concurrent_corrections_one_wins_and_the_other_gets_412(
    register: Callable[..., Case], amina: Any, sam: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = register(amina)
    person_id = case.person_id
    tag = _client(amina).get(f"{PREFIX}/persons/{person_id}")["ETag"]
    from casework.people import services as people

    original = people.correct_person
    both_checked = threading.Barrier(2, timeout=10)

    def after_both_checked(*args: Any, **kwargs: Any) -> Any:
        both_checked.wait()  # both requests have passed If-Match: now they race for the row
        return original(*args, **kwargs)

    monkeypatch.setattr(people, "correct_person", after_both_checked)
    answers: dict[str, int] = {}

    def correct(user: Any, nationality: str) -> None:
        from django.db import connection

        try:
            response = _client(user).patch(
                f"{PREFIX}/persons/{person_id}",
                {"reason": "Checked", "nationality": nationality},
                content_type="application/json",
                headers={"If-Match": tag},
            )
            answers[nationality] = response.status_code
        finally:
            connection.close()

    threads = [
        threading.Thread(target=correct, args=(amina, "Malian")),
        threading.Thread(target=correct, args=(sam, "Senegalese")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers.values()) == [200, 412], answers
    winner = next(name for name, status in answers.items() if status == 200)
    case.person.refresh_from_db()
    assert case.person.nationality == winner and case.person.version == 2
    assert Case.objects.get(pk=case.pk).person.revisions.count() == 1
    assert Referral.objects.count() == 0 and CasePlan.objects.count() == 0
