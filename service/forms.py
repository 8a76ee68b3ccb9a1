"""The form each task declares: its decisions and, for each, the fields it takes.

The same declaration checks a completion (422 naming each bad field) and tells a
page or client what to ask for.
"""

from dataclasses import asdict, dataclass, field

from workflows.errors import Invalid


@dataclass(frozen=True)
class Field:
    name: str
    type: str = "text"
    required: bool = True
    choices: str | None = None  # which reference list the value comes from
    max_length: int = 4000
    values: tuple[str, ...] = ()  # the only values allowed, when the form lists them


@dataclass(frozen=True)
class Decision:
    name: str
    label: str
    fields: tuple[Field, ...] = ()
    min_photos: int = 0


@dataclass(frozen=True)
class Form:
    task: str
    decisions: tuple[Decision, ...] = field(default_factory=tuple)

    def decision(self, name: str) -> Decision:
        for decision in self.decisions:
            if decision.name == name:
                return decision
        choices = ", ".join(d.name for d in self.decisions)
        raise Invalid(
            f"{name!r} is not a decision of a {self.task} task",
            errors={"decision": [f"one of {choices}"]},
        )

    def check(self, decision_name: str, values: dict, photo_count: int) -> Decision:
        """The decision, if every field it needs is there and fits; else 422."""
        decision = self.decision(decision_name)
        errors = {}
        for spec in decision.fields:
            value = values.get(spec.name)
            text = str(value).strip() if value is not None else ""
            if spec.required and not text:
                errors[spec.name] = ["required for this decision"]
            elif len(text) > spec.max_length:
                errors[spec.name] = [f"at most {spec.max_length} characters"]
            elif text and spec.values and text not in spec.values:
                errors[spec.name] = [f"one of {', '.join(spec.values)}"]
        if photo_count < decision.min_photos:
            errors["photos"] = [f"at least {decision.min_photos} photo is required"]
        if errors:
            raise Invalid(f"the {decision_name} decision does not fit", errors=errors)
        return decision

    def describe(self) -> dict:
        return asdict(self)


REASON = Field("reason")
NOTE = Field("note", required=False)
DISPATCH = Decision(
    "dispatch",
    "Dispatch 交办",
    (
        Field("category", "choice", choices="categories"),
        # Without a department, the dispatch catalogue's suggestion is taken.
        Field("department", "choice", required=False, choices="departments"),
        NOTE,
    ),
)

FORMS = {
    form.task: form
    for form in (
        Form(
            "triage",
            (
                DISPATCH,
                Decision("reject", "Reject 不予受理", (REASON,)),
                Decision("merge", "Merge 并单", (Field("duplicate_of", "case"),)),
                Decision(
                    "transfer",
                    "Transfer 转办",
                    (Field("partner", "choice", choices="partners"),),
                ),
            ),
        ),
        Form(
            "handle",
            (
                Decision("done", "Done 办结", (Field("result"),), min_photos=1),
                Decision("return", "Return 退单", (REASON,)),
            ),
        ),
        Form(
            "confirm",
            (
                Decision("satisfied", "Satisfied 满意", (NOTE,)),
                Decision("unsatisfied", "Not satisfied 不满意 (返工)", (REASON,)),
            ),
        ),
        Form("supervise", (Decision("follow_up", "Follow up 跟进", (Field("note"),)),)),
        Form(
            "arbitrate",
            (
                DISPATCH,
                Decision("to_triage", "Back to triage 退回分拣", (REASON,)),
            ),
        ),
    )
}


def form_of(task_name: str, drawn=()) -> Form:
    """The task's form: ours for the loop's tasks, else the one the diagram draws.

    `drawn` are the camunda:formData fields of the task's element, if any.
    """
    if task_name in FORMS:
        return FORMS[task_name]
    fields = tuple(
        Field(f.id, f.type, required=f.required, values=tuple(v for v, _ in f.values))
        for f in drawn
    )
    return Form(task_name, (Decision("done", "Done 完成", fields or (NOTE,)),))
