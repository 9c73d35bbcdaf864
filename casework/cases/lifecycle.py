"""Which lifecycle moves are allowed (seed 003's six steps, with pause, transfer and reopening).

identified → registered → assessed → planned → in follow-up → closed. A case may also be paused
or handed over for transfer from any working step and later resumed where it was; closed from any
step; reopened after closure. Reassessment and replanning during follow-up step back on purpose.
"""

from __future__ import annotations

from casework.cases.models import Status

# Moves into these steps need the client's (or caregiver's, with assent) consent to services:
# "a case cannot leave registration without consent to services".
NEEDS_SERVICE_CONSENT = frozenset({Status.ASSESSED, Status.PLANNED, Status.IN_FOLLOW_UP})

# Moves that must say why.
NEEDS_REASON = frozenset({Status.PAUSED, Status.TRANSFERRED, Status.REOPENED})

# Paused and transferred cases resume at the step they left (see `resume_target`).
RESUMABLE = frozenset({Status.PAUSED, Status.TRANSFERRED})

_ALLOWED: dict[str, frozenset[str]] = {
    Status.IDENTIFIED: frozenset({Status.REGISTERED, Status.CLOSED}),
    Status.REGISTERED: frozenset(
        {Status.ASSESSED, Status.PAUSED, Status.TRANSFERRED, Status.CLOSED}
    ),
    Status.ASSESSED: frozenset({Status.PLANNED, Status.PAUSED, Status.TRANSFERRED, Status.CLOSED}),
    Status.PLANNED: frozenset(
        {Status.IN_FOLLOW_UP, Status.ASSESSED, Status.PAUSED, Status.TRANSFERRED, Status.CLOSED}
    ),
    Status.IN_FOLLOW_UP: frozenset(
        {Status.ASSESSED, Status.PLANNED, Status.PAUSED, Status.TRANSFERRED, Status.CLOSED}
    ),
    Status.PAUSED: frozenset({Status.TRANSFERRED, Status.CLOSED}),
    Status.TRANSFERRED: frozenset({Status.CLOSED}),
    Status.CLOSED: frozenset({Status.REOPENED}),
    Status.REOPENED: frozenset(
        {
            Status.ASSESSED,
            Status.PLANNED,
            Status.IN_FOLLOW_UP,
            Status.PAUSED,
            Status.TRANSFERRED,
            Status.CLOSED,
        }
    ),
}


def allowed_targets(current: str, *, resume_to: str | None = None) -> frozenset[str]:
    """Statuses a case in `current` may move to. `resume_to`: the step before a pause/transfer."""
    targets = _ALLOWED[current]
    if current in RESUMABLE and resume_to:
        targets = targets | {resume_to}
    return targets


def all_pairs() -> list[tuple[str, str]]:
    """Every (from, to) pair of statuses, for tests that walk the whole table."""
    return [(a, b) for a in Status.values for b in Status.values]
