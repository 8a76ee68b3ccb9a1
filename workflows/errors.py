"""The project's one error hierarchy, rooted here so every layer can share it."""


class SuishoupaiError(Exception):
    """Root of every error this project raises on purpose.

    `status` is the HTTP status the service answers with; `errors` names the bad
    fields or elements, in the contract's error shape.
    """

    status = 400

    def __init__(
        self, message, *, errors=None, case_number=None, task_id=None, element_id=None
    ):
        super().__init__(message)
        self.message = message
        self.errors = errors
        self.case_number = case_number
        self.task_id = task_id
        self.element_id = element_id


class NotFound(SuishoupaiError):
    status = 404


class Forbidden(SuishoupaiError):
    status = 403


class Unauthorized(SuishoupaiError):
    status = 401


class Conflict(SuishoupaiError):
    status = 409


class Invalid(SuishoupaiError):
    """Input that is well formed but does not fit: names each bad field."""

    status = 422


def checked_together(*checks):
    """Run every check, answering with what each returns; if some refuse, raise one
    Invalid that names every bad field of all of them, not only the first's."""
    results, refusals = [], []
    for check in checks:
        try:
            results.append(check())
        except Invalid as refusal:
            results.append(None)
            refusals.append(refusal)
    if len(refusals) == 1:
        raise refusals[0]
    if refusals:
        errors = {}
        for refusal in refusals:
            for name, problems in (refusal.errors or {}).items():
                errors.setdefault(name, []).extend(problems)
        raise Invalid("; ".join(r.message for r in refusals), errors=errors)
    return results


class TooLarge(SuishoupaiError):
    status = 413


class DefinitionError(Invalid):
    """A BPMN definition that cannot be deployed; `errors` lists each problem."""


class EngineError(SuishoupaiError):
    """The engine failed while advancing a case; the case is left as it was."""

    status = 409
