"""Every worklist URL and API operation against the permission matrix: amina's tasks and
notifications are a 404 for everyone who may not see her case."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from casework.worklist import services
from casework.worklist.models import Notification, Task

OUTSIDERS = ["omar", "xena", "mei", "priya", "adam"]


@pytest.fixture
def overdue(case: Any, amina: Any) -> Task:
    task = services.open_task(
        case, kind="plan_due", due_at=timezone.now() - datetime.timedelta(hours=1)
    )
    services.mark_overdue()
    return task


@pytest.mark.parametrize("who", OUTSIDERS)
def test_outsiders_get_404(request: Any, who: str, login: Any, case: Any, overdue: Task) -> None:
    notice = Notification.objects.get(user__username="amina")
    client = login(request.getfixturevalue(who))
    for method, url in [
        ("post", f"/tasks/{overdue.pk}/done/"),
        ("post", f"/tasks/notifications/{notice.pk}/read/"),
        ("get", f"/api/v1/tasks/cases/{case.pk}"),
        ("post", f"/api/v1/tasks/{overdue.pk}/done"),
        ("post", f"/api/v1/tasks/notifications/{notice.pk}/read"),
    ]:
        response = client.get(url) if method == "get" else client.post(url)
        assert response.status_code == 404, (who, url, response.status_code)
    overdue.refresh_from_db()
    notice.refresh_from_db()
    assert overdue.is_open and notice.read_at is None


@pytest.mark.parametrize("who", OUTSIDERS)
def test_outsiders_lists_never_show_the_case(
    request: Any, who: str, login: Any, case: Any, overdue: Task
) -> None:
    client = login(request.getfixturevalue(who))
    page = client.get("/tasks/?scope=team")
    assert page.status_code in (200, 404)
    assert case.reference not in page.content.decode()
    api = client.get("/api/v1/tasks?scope=team")
    assert api.status_code in (200, 404)
    assert case.reference not in api.content.decode()
    notices = client.get("/api/v1/tasks/notifications")
    assert case.reference not in notices.content.decode()


@pytest.mark.parametrize("who", ["mei", "priya", "adam", "paul"])
def test_roles_without_casework_have_no_task_list(request: Any, who: str, login: Any) -> None:
    client = login(request.getfixturevalue(who))
    assert client.get("/tasks/").status_code == 404
    assert client.get("/api/v1/tasks").status_code == 404


def test_the_programme_manager_reads_but_cannot_complete(
    login: Any, paul: Any, case: Any, overdue: Task
) -> None:
    client = login(paul)
    assert client.get(f"/api/v1/tasks/cases/{case.pk}").status_code == 200
    assert client.post(f"/tasks/{overdue.pk}/done/").status_code == 404
