"""Who may see a case and who may act on a task, from roles, lanes and departments."""

from models import Case, HumanTaskRow, User

# The role that works each lane of the case diagram.
LANE_ROLES = {
    "triage": "triage",
    "department": "handler",
    "reporter": "reporter",
    "supervision": "supervisor",
}
SEES_EVERY_CASE = ("admin", "supervisor", "triage")
ROLE_LANES = {role: lane for lane, role in LANE_ROLES.items()}


def lane_of_groups(groups, departments) -> tuple[str | None, str | None]:
    """The lane and department that candidate groups name: a role or a department."""
    for group in groups:
        if group in ROLE_LANES:
            return ROLE_LANES[group], None
        if group in departments:
            return "department", group
    return None, None


def can_see_case(user: User, case: Case) -> bool:
    if user.role in SEES_EVERY_CASE:
        return True
    if user.role == "reporter":
        return case.reporter_id == user.id
    if user.role == "handler":
        return case.department_code is not None and (
            case.department_code == user.department_code
        )
    if user.role == "partner":
        return case.partner is not None and case.partner == user.partner_code
    return False


def can_work_task(user: User, task: HumanTaskRow) -> bool:
    """Whether the task's lane, department and case let this user act on it."""
    if user.role == "admin":
        return True
    if task.candidate_users and f",{user.name}," in task.candidate_users:
        return True
    if task.assignee_id is not None and task.assignee_id == user.id:
        return True
    if LANE_ROLES.get(task.lane or "") != user.role:
        return False
    if user.role == "handler":
        return task.department_code == user.department_code
    if user.role == "reporter":
        return task.case.reporter_id == user.id
    return True


def may_hold(user: User, task: HumanTaskRow) -> bool:
    """Whether the task may be claimed by or assigned to this user.

    A reporter's confirmation is theirs alone: held by anyone else, even an admin
    who may complete it, it would be out of the reporter's reach.
    """
    if task.lane == "reporter":
        return task.case.reporter_id == user.id
    return True


def may_reassign(user: User, task: HumanTaskRow) -> bool:
    """Supervisors reassign any task; triage staff the tasks of their lane."""
    if user.role in ("admin", "supervisor"):
        return True
    return user.role == "triage" and task.lane == "triage"
