"""What a request may carry: a bounded body, and numbers and dates the database and Python can hold.

- Every request body is limited to MAX_CONTENT_LENGTH (1 MiB); a view that takes uploads declares
  its own limit with `@accepts_body(max_bytes)`, applied before anything (even the CSRF check)
  reads the body. A bigger body is refused with 413 from its Content-Length, unread.
- `<int:…>` in every URL rule stops at 2**63 - 1: beyond it the URL does not match (404) instead
  of reaching the database as a number it cannot bind (500).
- `request.args.get(name, type=int)` (and request.form) treat a number beyond that range like
  any other non-number: the default.
"""
from __future__ import annotations

from datetime import date
from typing import Callable

from flask import Request, current_app
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter

#: The largest id or number the portal accepts from a URL (PostgreSQL's bigint; SQLite's INTEGER).
MAX_ID = 2**63 - 1
MIN_ID = -(2**63)


def bounded_int(value) -> int:
    """int(value), or ValueError when it is not a number or is beyond a 64-bit integer."""
    number = int(value)
    if not MIN_ID <= number <= MAX_ID:
        raise ValueError(f"{value!r} is out of range")
    return number


def parse_id(text: str | None) -> int | None:
    """A positive id typed as ASCII digits within range, else None."""
    text = (text or "").strip()
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def date_or_none(year, month, day) -> date | None:
    """A date from three numbers, or None when they do not make one (also for absurd years)."""
    try:
        return date(int(year), int(month), int(day))
    except (TypeError, ValueError, OverflowError):
        return None


class BoundedIntConverter(IntegerConverter):
    """Werkzeug's `int` converter, with a default range of a 64-bit integer."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = None,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits, MIN_ID if min is None and signed else min,
                         MAX_ID if max is None else max, signed)


class BoundedArgs(ImmutableMultiDict):
    """Query-string and form values whose `type=int` conversions stay within a 64-bit integer."""

    def get(self, key, default=None, type=None):  # noqa: A002 - werkzeug's own parameter name
        """As MultiDict.get; with type=int a number out of range gives the default."""
        return super().get(key, default, bounded_int if type is int else type)

    def getlist(self, key, type=None):  # noqa: A002
        """As MultiDict.getlist; with type=int numbers out of range are left out."""
        return super().getlist(key, bounded_int if type is int else type)


def accepts_body(max_bytes: int) -> Callable[[Callable], Callable]:
    """Let this view read a request body of up to max_bytes (an upload), instead of MAX_CONTENT_LENGTH."""

    def mark(view: Callable) -> Callable:
        view._max_body_bytes = max_bytes
        return view

    return mark


class PortalRequest(Request):
    """Flask's request with bounded numbers and a body limit chosen by the matched view."""

    parameter_storage_class = BoundedArgs

    @property
    def max_content_length(self) -> int | None:
        """The view's own limit (@accepts_body, or set on the request), else MAX_CONTENT_LENGTH."""
        if self._max_content_length is not None:
            return self._max_content_length
        view = current_app.view_functions.get(self.endpoint) if self.endpoint and current_app else None
        declared = getattr(view, "_max_body_bytes", None)
        return declared if declared is not None else Request.max_content_length.fget(self)

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value
