"""The one shape of a refused action, and the one helper that puts it onto a form (FlaskBB's shape).

A service that says no raises `Refusal`: `code` names the rule, `field` the form field it concerns
(None: the action as a whole), `details` the values its message needs, `message` the words when the
service already has them. Input with several problems is one Refusal whose `also` holds the others,
so every field shows its own. Nothing was written: the view rolls back and shows the form again
with `apply_refusal_to_form`, whose field errors also feed the error summary at the top.

A workflow race (someone acted first) is not a refusal: it is `StepLost` (portal/core/workflow.py).
"""
from __future__ import annotations

from typing import Callable, Iterable

from flask import flash
from flask_babel import gettext as _

#: Words a feature gives a code: (code, **details) -> text in the viewer's language.
Wording = Callable[..., str]


class Refusal(Exception):
    """A rule refused the action and nothing was written: `code`, `field`, `details`, maybe `message`."""

    #: The code of a subclass that stands for one refusal only (raised without arguments).
    CODE = ""

    def __init__(self, code: str = "", field: str | None = None, *, message=None, also: Iterable[Refusal] = (),
                 **details):
        code = code or type(self).CODE
        super().__init__(code)
        self.code = code
        self.field = field
        self.message = message
        self.details = details
        self.also = list(also)

    @classmethod
    def collected(cls, refusals: Iterable[Refusal]) -> Refusal | None:
        """One refusal carrying all of them (the first, with the rest in `also`), or None when there are none."""
        first, *rest = [*refusals] or [None]
        if first is None:
            return None
        first.also.extend(rest)
        return first

    def each(self) -> list[Refusal]:
        """This refusal and the ones it carries, in the order they were found."""
        return [self, *self.also]

    def by_field(self) -> dict[str | None, list[str]]:
        """{form field (None: the whole action): [codes]}."""
        codes: dict[str | None, list[str]] = {}
        for refusal in self.each():
            codes.setdefault(refusal.field, []).append(refusal.code)
        return codes

    def text(self, wording: Wording | None = None) -> str:
        """This refusal in the viewer's language: its own message, else the feature's words for its code."""
        if self.message is not None:
            return str(self.message)
        if wording is not None:
            return str(wording(self.code, **self.details))
        return _("This action is not allowed.")


def apply_refusal_to_form(form, refusal: Refusal, wording: Wording | None = None, *,
                          keep_own_errors: Iterable[str] = ()) -> None:
    """Put each refusal onto the form field it concerns; one that concerns no field becomes a notice.

    A field named in `keep_own_errors` that the form's validation already marked keeps only that
    message (a typo'd date says why better than "the date is missing").
    """
    marked = {name for name in keep_own_errors if getattr(getattr(form, name, None), "errors", None)}
    for each in refusal.each():
        field = getattr(form, each.field, None) if each.field else None
        if field is None:
            flash(each.text(wording), "error")
        elif each.field not in marked:
            field.errors = [*field.errors, each.text(wording)]
