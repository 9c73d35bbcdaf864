"""Opening, rescheduling and closing tasks; the overdue and no-contact checks; notifications.

Other apps call `open_task` / `close_tasks` from their own services (inside their transaction),
and `schedule_follow_up` when an assessment or a follow-up sets the next deadline. The periodic
`sweep` (casework/worklist/tasks.py, every 15 minutes) marks tasks overdue and flags silent
cases; it claims rows before notifying, so several workers never notify twice.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, models, transaction
from django.db.models import Exists, F, Min, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from casework.accounts.models import User
from casework.accounts.roles import Perm, Role
from casework.audit.log import append, entry, record
from casework.cases import deadlines, events
from casework.cases.deadlines import windows_for
from casework.cases.models import OPEN_STATUSES, WORKING_STATUSES, Case, FollowUp, Status
from casework.core.errors import CaseworkError, NotAllowed
from casework.worklist.models import Notification, Task

logger = logging.getLogger(__name__)

BATCH = 500
# A follow-up that found new needs, or asked for a reassessment, puts it on the list this soon.
REASSESSMENT_DAYS = 3
# Paused cases wait on purpose: their tasks do not go overdue and their silence is expected.
ACTIVE_STATUSES = WORKING_STATUSES


def _subject(source: models.Model | None, subject: str) -> str:
    if source is not None:
        return f"{source._meta.label_lower}:{source.pk}"
    return subject


# --- the case summary ---------------------------------------------------------------------------


def refresh_next_due(case: Case) -> None:
    """Case.next_due_at := the earliest open task (none for a case that is no longer open).

    A summary, not an edit by a person, so it does not bump the case's version (a form opened
    before the change can still be saved).
    """
    earliest = None
    if case.status in OPEN_STATUSES:
        earliest = Task.objects.filter(case_id=case.pk, status=Task.Status.OPEN).aggregate(
            earliest=Min("due_at")
        )["earliest"]
    if earliest != case.next_due_at:
        Case.objects.filter(pk=case.pk).update(next_due_at=earliest)
        case.next_due_at = earliest


def _refresh_next_due_many(case_ids: Iterable[int]) -> None:
    earliest = (
        Task.objects.filter(case_id=OuterRef("pk"), status=Task.Status.OPEN)
        .order_by("due_at")
        .values("due_at")[:1]
    )
    Case.objects.filter(pk__in=list(case_ids), status__in=OPEN_STATUSES).update(
        next_due_at=Subquery(earliest)
    )


def due_by_end_of(day: datetime.date) -> datetime.datetime:
    """A task due "on" a day is due at its last moment, local time (late from midnight on)."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.max))


# --- opening and closing ------------------------------------------------------------------------


@transaction.atomic
def open_task(
    case: Case,
    *,
    kind: str,
    due_at: datetime.datetime,
    target_at: datetime.datetime | None = None,
    source: models.Model | None = None,
    subject: str = "",
    assignee: User | None = None,
    by: User | None = None,
) -> Task:
    """Open a task, or move the due date of the open task of the same kind and subject.

    Moving the date is the caller's decision (e.g. a raised risk brings a follow-up forward);
    a task moved into the future is no longer overdue.
    """
    if kind not in Task.Kind.values:
        raise CaseworkError(_("Unknown kind of task."), code="invalid_task")
    subject = _subject(source, subject)
    task = (
        Task.objects.select_for_update()
        .filter(case_id=case.pk, kind=kind, subject=subject, status=Task.Status.OPEN)
        .first()
    )
    if task is None:
        task = Task.objects.create(
            case=case,
            kind=kind,
            subject=subject,
            due_at=due_at,
            target_at=target_at,
            assignee=assignee,
        )
        action = "worklist.task.opened"
    else:
        task.due_at = due_at
        task.target_at = target_at
        if task.overdue_at is not None and due_at > timezone.now():
            task.overdue_at = None
        if assignee is not None:
            task.assignee = assignee
        task.save(update_fields=["due_at", "target_at", "overdue_at", "assignee"])
        action = "worklist.task.rescheduled"
    refresh_next_due(case)
    record(
        action,
        by=by,
        target=task,
        case_id=case.pk,
        agency_id=case.agency_id,
        data={"kind": kind},
    )
    return task


def _open_on(case_ids: Iterable[int], *, kind: str, subject: str) -> set[int]:
    """The cases among `case_ids` that have this task open."""
    return set(
        Task.objects.filter(
            case_id__in=list(case_ids), kind=kind, subject=subject, status=Task.Status.OPEN
        ).values_list("case_id", flat=True)
    )


@transaction.atomic
def open_tasks(
    cases: Iterable[Case],
    *,
    kind: str,
    due_at: datetime.datetime,
    subject: str,
    by: User | None = None,
) -> tuple[int, int]:
    """Open the same task on many cases at once: (opened, already open). A case that already
    has it open keeps it unchanged. A fixed number of statements however many cases; when
    someone opens some of the same tasks at the same moment (the one-open-task-per-subject
    constraint refuses the batch), each is inserted on its own, so every task is counted, and
    audited, by whoever really opened it."""
    if kind not in Task.Kind.values:
        raise CaseworkError(_("Unknown kind of task."), code="invalid_task")
    by_id = {case.pk: case for case in cases}
    already = _open_on(by_id, kind=kind, subject=subject)
    new = [
        Task(case_id=pk, kind=kind, subject=subject, due_at=due_at)
        for pk in by_id
        if pk not in already
    ]
    try:
        with transaction.atomic():
            Task.objects.bulk_create(new, batch_size=BATCH)
        opened = {task.case_id for task in new}
    except IntegrityError:
        opened = set()
        for task in new:
            task.pk = None
            try:
                with transaction.atomic():
                    task.save(force_insert=True)
                opened.add(task.case_id)
            except IntegrityError:
                already.add(task.case_id)
    _refresh_next_due_many(opened)
    append(
        [
            entry(
                "worklist.task.opened",
                by=by,
                case_id=pk,
                agency_id=by_id[pk].agency_id,
                data={"kind": kind},
            )
            for pk in sorted(opened)
        ]
    )
    return len(opened), len(already)


@transaction.atomic
def close_tasks(
    case: Case,
    *,
    kinds: Iterable[str],
    by: User | None = None,
    source: models.Model | None = None,
    subjects: Iterable[str] | None = None,
    status: str = Task.Status.DONE,
) -> int:
    """Close the case's open tasks of these kinds (of `source`, or of these `subjects`, when
    given)."""
    tasks = Task.objects.filter(case_id=case.pk, kind__in=list(kinds), status=Task.Status.OPEN)
    if source is not None:
        tasks = tasks.filter(subject=_subject(source, ""))
    if subjects is not None:
        tasks = tasks.filter(subject__in=list(subjects))
    closed = tasks.update(status=status, closed_at=timezone.now(), closed_by=by)
    if closed:
        refresh_next_due(case)
        record(
            "worklist.tasks.closed",
            by=by,
            case_id=case.pk,
            agency_id=case.agency_id,
            data={"kinds": sorted(set(kinds)), "count": closed, "status": status},
        )
    return closed


@transaction.atomic
def complete_task(task: Task, *, by: User) -> Task:
    """A person marks a task done (the case was loaded for writing through the access gate)."""
    if not by.has_casework_perm(Perm.WORK_ON_CASES):
        raise NotAllowed(_("Your role does not allow this."))
    updated = Task.objects.filter(pk=task.pk, status=Task.Status.OPEN).update(
        status=Task.Status.DONE, closed_at=timezone.now(), closed_by=by
    )
    if not updated:
        raise CaseworkError(_("This task is already closed."), code="already_closed")
    task.refresh_from_db()
    refresh_next_due(task.case)
    record("worklist.task.done", by=by, target=task, case_id=task.case_id, data={"kind": task.kind})
    return task


def cancel_open_tasks(case: Case, *, by: User | None = None) -> int:
    """Cancel everything still open on a case that closed or left the agency."""
    return close_tasks(case, kinds=Task.Kind.values, by=by, status=Task.Status.CANCELLED)


# --- hooks for the case lifecycle ---------------------------------------------------------------


def on_case_registered(case: Case, *, by: User | None = None) -> Task | None:
    """Registration (or reopening) puts "assessment due" on the worklist, once.

    Due as the agency's window for the risk known at registration says, or within
    ASSESSMENT_DUE_HOURS when no risk is known yet.
    """
    if case.status not in ACTIVE_STATUSES or case.status == Status.IDENTIFIED:
        # Registration and reopening guess a first due time; the summary is the tasks' alone.
        refresh_next_due(case)
        return None
    existing = Task.objects.filter(
        case_id=case.pk, kind=Task.Kind.ASSESSMENT_DUE, status=Task.Status.OPEN
    ).first()
    if existing is not None:
        refresh_next_due(case)
        return existing
    start = timezone.now()
    if case.risk_level:
        deadline = deadlines.follow_up_deadline(case.risk_level, start, windows_for(case.agency_id))
        due_at, target_at = deadline.due_at, deadline.target_at
    else:
        due_at = target_at = start + datetime.timedelta(hours=deadlines.ASSESSMENT_DUE_HOURS)
    return open_task(case, kind=Task.Kind.ASSESSMENT_DUE, due_at=due_at, target_at=target_at, by=by)


def on_case_closed(case: Case, *, by: User | None = None) -> int:
    return cancel_open_tasks(case, by=by)


def on_follow_up_recorded(case: Case, follow_up: FollowUp, *, by: User, previous_risk: str) -> None:
    """The follow-up task is done; the next one is due by the (possibly new) risk level and the
    agency's windows, counted from this contact. A contact that found new needs or asked for a
    reassessment puts the assessment back on the list."""
    schedule_follow_up(case, previous_level=previous_risk, after_contact=True, by=by)
    if follow_up.reassessment_needed or follow_up.new_needs:
        open_task(
            case,
            kind=Task.Kind.ASSESSMENT_DUE,
            due_at=timezone.now() + datetime.timedelta(days=REASSESSMENT_DAYS),
            by=by,
        )


# The worklist follows the lifecycle (connected in WorklistConfig.ready()): (re)registration puts
# the assessment on it, closing clears what is left open, a contact schedules the next one.


def _registered(event: events.CaseChanged) -> None:
    on_case_registered(event.case, by=event.by)


def _closed(event: events.CaseChanged) -> None:
    on_case_closed(event.case, by=event.by)


def _followed_up(event: events.FollowUpRecorded) -> None:
    on_follow_up_recorded(
        event.case, event.follow_up, by=event.by, previous_risk=event.previous_risk
    )


def subscribe() -> None:
    events.case_registered.connect(_registered)
    events.case_reopened.connect(_registered)
    events.case_closed.connect(_closed)
    events.follow_up_recorded.connect(_followed_up)


def schedule_follow_up(
    case: Case,
    *,
    previous_level: str,
    start: datetime.datetime | None = None,
    by: User | None = None,
    after_contact: bool = False,
) -> deadlines.Deadline:
    """Set the follow-up task from the case's (new) risk level, by the agency's windows.

    After an assessment, a raised risk can only bring an open follow-up forward (seed 003).
    After a follow-up contact (`after_contact`), that follow-up is done and the next one is
    counted from this contact.
    """
    start = start or timezone.now()
    windows = windows_for(case.agency_id)
    current = None
    if after_contact:
        close_tasks(case, kinds=[Task.Kind.FOLLOW_UP_DUE], by=by)
    else:
        task = Task.objects.filter(
            case_id=case.pk, kind=Task.Kind.FOLLOW_UP_DUE, status=Task.Status.OPEN
        ).first()
        if task is not None:
            current = deadlines.Deadline(task.due_at, task.target_at or task.due_at)
    deadline = deadlines.rescheduled_follow_up(
        current=current,
        previous_level=previous_level,
        new_level=case.risk_level,
        start=start,
        windows=windows,
    )
    open_task(
        case,
        kind=Task.Kind.FOLLOW_UP_DUE,
        due_at=deadline.due_at,
        target_at=deadline.target_at,
        by=by,
    )
    return deadline


def mark_read(notification: Notification, *, by: User) -> None:
    if notification.user_id != by.pk:
        raise NotAllowed(_("This notice is not yours."))
    Notification.objects.filter(pk=notification.pk, read_at=None).update(read_at=timezone.now())


def mark_all_read(*, by: User) -> int:
    return Notification.objects.filter(user_id=by.pk, read_at=None).update(read_at=timezone.now())


# --- notifying ----------------------------------------------------------------------------------


def _supervisors_by_team(team_ids: Iterable[int]) -> dict[int, list[User]]:
    found: dict[int, list[User]] = defaultdict(list)
    for supervisor in User.objects.filter(
        team_id__in=set(team_ids), role=Role.SUPERVISOR, is_active=True
    ):
        if supervisor.team_id is not None:  # always, by the filter
            found[supervisor.team_id].append(supervisor)
    return found


def _recipients(task: Task, supervisors: dict[int, list[User]]) -> list[User]:
    holder = task.assignee or task.case.caseworker
    people = ([holder] if holder is not None else []) + supervisors.get(task.case.team_id, [])
    unique: dict[int, User] = {}
    for person in people:
        if person.is_active:
            unique.setdefault(person.pk, person)
    return list(unique.values())


def _notify(tasks: list[Task], kind: str, now: datetime.datetime) -> list[Notification]:
    supervisors = _supervisors_by_team(task.case.team_id for task in tasks)
    notices = [
        Notification(user=person, case=task.case, task=task, kind=kind, created_at=now)
        for task in tasks
        for person in _recipients(task, supervisors)
    ]
    Notification.objects.bulk_create(notices, batch_size=BATCH)
    if settings.EMAIL_HOST:
        ids = [notice.pk for notice in notices if notice.pk and notice.user.email]
        transaction.on_commit(lambda: send_emails(ids))
    return notices


def _email_text(notice: Notification) -> tuple[str, str]:
    # A case reference and a task kind: nothing that identifies the person.
    reference = notice.case.reference if notice.case else ""
    if notice.kind == Notification.Kind.CONTACT_LOST:
        subject = _("Casework: no contact on case %(ref)s") % {"ref": reference}
        first = _("Case %(ref)s has had no recorded contact for 30 days or more.") % {
            "ref": reference
        }
    else:
        subject = _("Casework: overdue task on case %(ref)s") % {"ref": reference}
        first = _("A task on case %(ref)s is overdue.") % {"ref": reference}
    lines = [first]
    task = notice.task
    if task is not None:
        lines.append(
            _("%(task)s, due %(due)s.")
            % {
                "task": task.get_kind_display(),
                "due": timezone.localtime(task.due_at).strftime("%Y-%m-%d %H:%M"),
            }
        )
    lines.append(_("Sign in to Casework to see your tasks."))
    return subject, "\n\n".join(lines)


def send_emails(notification_ids: list[int]) -> int:
    """E-mail each notice to its user (after the transaction that created them committed)."""
    sent = []
    notices = Notification.objects.filter(pk__in=notification_ids, emailed_at=None).select_related(
        "user", "case", "task"
    )
    for notice in notices:
        with translation.override(settings.LANGUAGE_CODE):
            subject, body = _email_text(notice)
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [notice.user.email])
        except Exception:  # one unreachable mailbox must not stop the others
            logger.exception("Could not e-mail notification %s", notice.pk)
            continue
        sent.append(notice.pk)
    if sent:
        Notification.objects.filter(pk__in=sent).update(emailed_at=timezone.now())
    return len(sent)


# --- the periodic checks ------------------------------------------------------------------------


def cancel_tasks_of_ended_cases(now: datetime.datetime) -> int:
    """Tasks left open on closed or transferred cases are cancelled (nobody can do them)."""
    ended = Task.objects.filter(status=Task.Status.OPEN).exclude(case__status__in=OPEN_STATUSES)
    return ended.update(status=Task.Status.CANCELLED, closed_at=now)


def mark_overdue(now: datetime.datetime | None = None) -> int:
    """Flag each open task past its due date, once, and notify its holder and their supervisor."""
    now = now or timezone.now()
    flagged = 0
    while True:
        with transaction.atomic():
            batch = list(
                Task.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(
                    status=Task.Status.OPEN,
                    overdue_at=None,
                    due_at__lte=now,
                    case__status__in=ACTIVE_STATUSES,
                )
                .select_related("case", "case__caseworker", "assignee")
                .order_by("due_at", "id")[:BATCH]
            )
            if not batch:
                break
            Task.objects.filter(pk__in=[task.pk for task in batch]).update(overdue_at=now)
            _notify(batch, Notification.Kind.TASK_OVERDUE, now)
            record("worklist.tasks.overdue", by=None, data={"count": len(batch)})
            flagged += len(batch)
        if len(batch) < BATCH:
            break
    return flagged


def silent_cases(now: datetime.datetime) -> models.QuerySet[Case]:
    """Active cases with no recorded contact (or, failing one, registration) for 30+ days, not
    already under review and not reviewed for this silence in the last 30 days."""
    cutoff = timezone.localdate(now) - datetime.timedelta(days=deadlines.NO_CONTACT_DAYS)
    reviews = Task.objects.filter(case_id=OuterRef("pk"), kind=Task.Kind.REVIEW_NO_CONTACT).filter(
        Q(status=Task.Status.OPEN)
        | Q(created_at__gte=now - datetime.timedelta(days=deadlines.NO_CONTACT_DAYS))
    )
    return (
        Case.objects.filter(status__in=ACTIVE_STATUSES)
        .exclude(status=Status.IDENTIFIED)
        .annotate(since=Coalesce(F("last_contact_on"), F("registered_on")))
        .filter(since__lte=cutoff)
        .exclude(Exists(reviews))
    )


def flag_no_contact(now: datetime.datetime | None = None) -> int:
    """Open a "review: no contact" task on each silent case and notify (seed 003: contact lost)."""
    now = now or timezone.now()
    due_at = now + datetime.timedelta(hours=deadlines.NO_CONTACT_REVIEW_HOURS)
    flagged = 0
    while True:
        with transaction.atomic():
            cases = list(silent_cases(now).select_related("caseworker").order_by("id")[:BATCH])
            if not cases:
                break
            tasks = Task.objects.bulk_create(
                [
                    Task(
                        case=case, kind=Task.Kind.REVIEW_NO_CONTACT, due_at=due_at, target_at=due_at
                    )
                    for case in cases
                ],
                batch_size=BATCH,
            )
            by_case = {case.pk: case for case in cases}
            for task in tasks:
                task.case = by_case[task.case_id]
                task.assignee = None
            _notify(tasks, Notification.Kind.CONTACT_LOST, now)
            _refresh_next_due_many(by_case)
            record("worklist.cases.no_contact", by=None, data={"count": len(cases)})
            flagged += len(cases)
        if len(cases) < BATCH:
            break
    return flagged


def resolve_contact_regained(now: datetime.datetime | None = None) -> int:
    """Close the no-contact reviews of cases where contact was recorded again."""
    now = now or timezone.now()
    cutoff = timezone.localdate(now) - datetime.timedelta(days=deadlines.NO_CONTACT_DAYS)
    reviews = Task.objects.filter(
        kind=Task.Kind.REVIEW_NO_CONTACT,
        status=Task.Status.OPEN,
        case__last_contact_on__gt=cutoff,
    )
    case_ids = list(reviews.values_list("case_id", flat=True)[: BATCH * 10])
    closed = Task.objects.filter(
        kind=Task.Kind.REVIEW_NO_CONTACT, status=Task.Status.OPEN, case_id__in=case_ids
    ).update(status=Task.Status.DONE, closed_at=now)
    if closed:
        _refresh_next_due_many(case_ids)
    return closed


def sweep(now: datetime.datetime | None = None) -> dict[str, Any]:
    """Everything the 15-minute job does; returns counts (logged by the job)."""
    now = now or timezone.now()
    return {
        "cancelled": cancel_tasks_of_ended_cases(now),
        "resolved": resolve_contact_regained(now),
        "overdue": mark_overdue(now),
        "no_contact": flag_no_contact(now),
    }
