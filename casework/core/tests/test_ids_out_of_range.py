"""An id too large for the database's integers names nothing: 404, never a server error (found
by fuzzing the API)."""

from __future__ import annotations

from typing import Any

HUGE = "46419317232733427597312"


def test_the_api_answers_404(login: Any, amina: Any) -> None:
    client = login(amina)
    assert client.get(f"/api/v1/cases/{HUGE}").status_code == 404
    note = client.post(
        f"/api/v1/cases/{HUGE}/notes",
        {"text": "x", "contact_type": "home_visit"},
        content_type="application/json",
    )
    assert note.status_code == 404 and note.json()["code"] == "not_found"


def test_a_negative_id_beyond_64_bits_too(login: Any, amina: Any) -> None:
    assert login(amina).get(f"/api/v1/cases/-{HUGE}/consents").status_code == 404


def test_a_page_answers_404(login: Any, amina: Any) -> None:
    assert login(amina).get(f"/cases/{HUGE}/").status_code == 404
