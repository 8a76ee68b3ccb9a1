"""The case as the API answers with it, built from its file and one batch of reads."""

from service.case_file import CaseFile
from service.case_store import CaseStore
from service.deadlines import Deadlines
from service.settings import Settings
from workflows.clock import clock

# What a summary of a case shows: the columns of `CaseSummarySchema`.
SUMMARY = (
    "number",
    "status",
    "category_code",
    "department_code",
    "description",
    "lat",
    "lng",
    "address",
    "created_at",
    "closed_at",
    "escalation_level",
    "duplicate_of",
    "partner",
    "partner_status",
    "street",
    "return_count",
)


def case_summary(store: CaseStore, file: CaseFile) -> dict:
    """The case's own fields and its reporter, for `CaseSummarySchema`."""
    case = file.case
    summary = {name: getattr(case, name) for name in SUMMARY}
    summary["reporter_name"] = file.reporter_name
    return summary


def case_answer(store: CaseStore, file: CaseFile, settings: Settings) -> dict:
    """The whole case, for `CaseSchema`: photos, timeline, open tasks, deadline."""
    answer = case_summary(store, file)
    answer.update(store.answer_rows(file))
    answer["open_tasks"] = file.open_tasks
    deadline = file.deadline
    answer["deadline"] = (
        Deadlines.load(store.session, settings).view(deadline, clock.now())
        if deadline is not None
        else None
    )
    return answer
