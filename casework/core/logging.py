"""Keep personal data out of log output.

Casework logs ids, codes and paths. Two things could still carry a value into a log line: an
exception message (a database error quoting a value) and a query string. The filter drops the
exception's arguments and any query string, keeping the exception type and the stack, which is
what an operator needs.
"""

from __future__ import annotations

import logging
import re

_QUERY = re.compile(r"\?[^\s\"']*")


class RedactFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(
                _QUERY.sub("?…", arg) if isinstance(arg, str) else arg
                for arg in (record.args if isinstance(record.args, tuple) else (record.args,))
            )
        if isinstance(record.msg, str):
            record.msg = _QUERY.sub("?…", record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            # The traceback shows where; a message may quote data. Keep types, drop messages: of
            # the exception and of every one chained under it (Django wraps a driver's error,
            # whose message quotes the value, as the cause of its own).
            error: BaseException | None = record.exc_info[1]
            seen: set[int] = set()
            while error is not None and id(error) not in seen:
                seen.add(id(error))
                error.args = (f"<{type(error).__name__}: message withheld>",)
                error = error.__cause__ or error.__context__
            record.exc_text = None
        # The request object rides along on django.request records; its repr is never printed by
        # the plain formatter, and nothing else here reads it.
        return True
