"""The /tasks/ page and /api/v1/tasks: my tasks and my team's, due today and overdue, and
notifications."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone

from casework.worklist import selectors, services
from casework.worklist.models import Notification, Task

HOUR = datetime.timedelta(hours=1)


def test_my_tasks_are_listed_soonest_first(
    login: Any, register: Any, amina: Any, omar: Any
) -> None:
    mine = register(amina)
    theirs = register(omar)
    services.open_task(mine, kind="plan_due", due_at=timezone.now() - HOUR)
    services.open_task(mine, kind="follow_up_due", due_at=timezone.now() + 200 * HOUR)
    services.open_task(theirs, kind="plan_due", due_at=timezone.now())
    body = login(amina).get("/tasks/").content.decode()
    assert body.count(mine.reference) == 2 and theirs.reference not in body
    assert body.index("Case plan due") < body.index("Follow-up due")
    assert "Overdue (1)" in body
    overdue = login(amina).get("/tasks/?show=overdue").content.decode()
    assert "Case plan due" in overdue and "Follow-up due" not in overdue
    assert "Fatima" not in body  # references only


def test_the_supervisor_sees_the_team(login: Any, register: Any, amina: Any, sam: Any) -> None:
    case = register(amina)
    services.open_task(case, kind="plan_due", due_at=timezone.now() - HOUR)
    assert case.reference not in login(sam).get("/tasks/").content.decode()
    body = login(sam).get("/tasks/?scope=team&show=today").content.decode()
    assert case.reference in body and "Amina" in body
    assert selectors.overdue_tasks_for_team(sam).count() == 1


def test_a_task_is_marked_done_from_the_list(login: Any, case: Any, amina: Any) -> None:
    task = services.open_task(case, kind="plan_due", due_at=timezone.now())
    response = login(amina).post(f"/tasks/{task.pk}/done/", {"next": "/tasks/"})
    assert response.status_code == 302 and response["Location"] == "/tasks/"
    task.refresh_from_db()
    assert task.status == Task.Status.DONE


def test_an_offsite_next_is_ignored(login: Any, case: Any, amina: Any) -> None:
    task = services.open_task(case, kind="plan_due", due_at=timezone.now())
    response = login(amina).post(f"/tasks/{task.pk}/done/", {"next": "https://evil.example/"})
    assert response["Location"] == "/tasks/"


def test_notifications_are_shown_and_read(login: Any, case: Any, amina: Any, sam: Any) -> None:
    services.open_task(case, kind="plan_due", due_at=timezone.now() - HOUR)
    services.mark_overdue()
    client = login(amina)
    body = client.get("/tasks/").content.decode()
    assert "Notifications (1 unread)" in body and "A task is overdue" in body
    notice = Notification.objects.get(user=amina)
    client.post(f"/tasks/notifications/{notice.pk}/read/")
    notice.refresh_from_db()
    assert notice.read_at is not None
    client.post("/tasks/notifications/read-all/")
    assert Notification.objects.get(user=sam).read_at is None  # only mine


def test_the_case_page_lists_its_tasks(login: Any, case: Any, amina: Any) -> None:
    services.open_task(case, kind="plan_due", due_at=timezone.now() - HOUR)
    body = login(amina).get(f"/cases/{case.pk}/").content.decode()
    assert "Due on this case" in body and "Case plan due" in body and "Overdue" in body


def test_the_api_lists_tasks_and_notifications(login: Any, case: Any, amina: Any) -> None:
    task = services.open_task(case, kind="plan_due", due_at=timezone.now() - HOUR)
    services.mark_overdue()
    client = login(amina)
    page = client.get("/api/v1/tasks?show=overdue").json()
    assert page["count"] == 1 and page["overdue"] == 1
    assert page["items"][0]["case_reference"] == case.reference
    assert page["items"][0]["overdue"] is True
    assert [t["id"] for t in client.get(f"/api/v1/tasks/cases/{case.pk}").json()] == [task.pk]
    done = client.post(f"/api/v1/tasks/{task.pk}/done", content_type="application/json")
    assert done.status_code == 200 and done.json()["status"] == "done"
    notices = client.get("/api/v1/tasks/notifications?unread=true").json()
    assert len(notices) == 1 and notices[0]["case_reference"] == case.reference
    read = client.post(f"/api/v1/tasks/notifications/{notices[0]['id']}/read")
    assert read.json()["read_at"] is not None


def test_the_lists_keep_a_bounded_number_of_queries(
    login: Any, register: Any, amina: Any, sam: Any, django_assert_max_num_queries: Any
) -> None:
    for index in range(20):
        case = register(amina)
        services.open_task(case, kind="plan_due", due_at=timezone.now() + (index - 10) * HOUR)
    services.mark_overdue()
    for user, url in [
        (amina, "/tasks/"),
        (sam, "/tasks/?scope=team"),
        (amina, "/api/v1/tasks"),
        (sam, "/api/v1/tasks?scope=team"),
        (amina, "/api/v1/tasks/notifications"),
    ]:
        client = login(user)
        client.get("/")
        with django_assert_max_num_queries(15):
            assert client.get(url).status_code == 200, url
