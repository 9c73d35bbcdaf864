"""What the case announces, for the later steps of the process to react to.

The case is the floor of the process: it never imports the worklist, plans or referrals. When
one of them must follow a change of the case (a closed case has no open tasks and no referral
waiting for a partner), the case service sends one of these events and the later app's
`AppConfig.ready()` connects a handler (see casework/core/events.py for how handlers run):

| event | sent by | handled by |
|---|---|---|
| `case_registered` | registration, and a move to "registered" | worklist (assessment due) |
| `case_reopened` | a move to "reopened" | worklist (assessment due) |
| `case_closed` | a move to "closed" | worklist (cancel tasks), referrals (cancel unanswered) |
| `case_transferred` | an accepted transfer, once the case has moved | plans (shared-text flags), referrals (cancel unanswered), retention (re-encrypt for the receiving agency) |
| `follow_up_recorded` | a follow-up contact | worklist (next follow-up, assessment due) |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from casework.core.events import Event

if TYPE_CHECKING:
    from casework.accounts.models import User
    from casework.cases.models import Case, FollowUp


@dataclass(frozen=True)
class CaseChanged:
    case: Case
    by: User


@dataclass(frozen=True)
class CaseTransferred:
    """The case (and its person) now belong to `to_agency_id`; `from_agency_id` lost it."""

    case: Case
    by: User
    from_agency_id: int
    to_agency_id: int
    # The person the case belonged to in the sending agency, when the receiving agency got a
    # copy of them (they keep other cases there): one person with a record in each agency.
    from_person_id: int | None = None


@dataclass(frozen=True)
class FollowUpRecorded:
    case: Case
    follow_up: FollowUp
    by: User
    previous_risk: str


case_registered: Event[CaseChanged] = Event("case_registered")
case_reopened: Event[CaseChanged] = Event("case_reopened")
case_closed: Event[CaseChanged] = Event("case_closed")
case_transferred: Event[CaseTransferred] = Event("case_transferred")
follow_up_recorded: Event[FollowUpRecorded] = Event("follow_up_recorded")
