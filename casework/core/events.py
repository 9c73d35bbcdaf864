"""Typed events: how an earlier step of the process lets later steps react without knowing them.

The process runs downward (cases → assessments/worklist → plans → referrals …). When a later step
must act on an earlier one's change (a case closes, so its tasks close and unanswered referrals are
cancelled), the earlier app declares an `Event` in its `events.py` and `send`s it from the service
that made the change; the later app `connect`s a handler in its `AppConfig.ready()`. No model
signals: an event is sent by a service, on purpose, with a typed payload, and a reader finds every
subscriber by searching for the event's name.

Handlers run synchronously, inside the sender's transaction, in `INSTALLED_APPS` order of the app
that connected them (so the worklist reacts before referrals, as the process runs): a handler that
raises rolls the whole change back. A side effect that must not happen for a change that is rolled
back (an e-mail, a call to another system) connects with `after_commit=True` and runs once the
transaction commits, or never.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from django.apps import apps
from django.db import transaction

Payload = TypeVar("Payload")
Handler = Callable[[Payload], None]


@dataclass(frozen=True)
class _Subscription(Generic[Payload]):
    handler: Handler[Payload]
    app_index: int
    after_commit: bool


def _app_index(handler: Callable[..., object]) -> int:
    """The position in INSTALLED_APPS of the app the handler's module belongs to."""
    config = apps.get_containing_app_config(getattr(handler, "__module__", None) or "")
    if config is None:
        return len(apps.app_configs)
    return list(apps.app_configs).index(config.label)


class Event(Generic[Payload]):
    """One kind of event, with its subscribers. `send` calls each with the payload."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._subscriptions: list[_Subscription[Payload]] = []

    def __repr__(self) -> str:
        return f"<Event {self.name}: {len(self._subscriptions)} handlers>"

    def connect(self, handler: Handler[Payload], *, after_commit: bool = False) -> None:
        """Subscribe `handler` (once: connecting the same handler again changes nothing)."""
        if any(existing.handler is handler for existing in self._subscriptions):
            return
        self._subscriptions.append(_Subscription(handler, _app_index(handler), after_commit))
        # Stable: handlers of one app keep the order they were connected in.
        self._subscriptions.sort(key=lambda subscription: subscription.app_index)

    def disconnect(self, handler: Handler[Payload]) -> None:
        self._subscriptions = [s for s in self._subscriptions if s.handler is not handler]

    @property
    def handlers(self) -> list[Handler[Payload]]:
        return [subscription.handler for subscription in self._subscriptions]

    def send(self, payload: Payload) -> None:
        for subscription in self._subscriptions:
            if subscription.after_commit:
                transaction.on_commit(functools.partial(subscription.handler, payload))
            else:
                subscription.handler(payload)
