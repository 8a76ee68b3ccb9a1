"""A small known set of cases made over HTTP, for the supervisors' figures and pages.

Five shared-bike cases (limits in plain hours: triage 2, handling 4, confirmation
48) reported together near one another, then worked and moved through time:

- A: dispatched, handled and confirmed at once: on time, fixed within 24 hours.
- B: handled after 5 hours (late), disputed (返工), handled again and confirmed.
- C: returned (退单), dispatched again, then left in handling: late and open.
- D: never triaged: late and open, no department.
- E: handled at once, confirmed after 25 hours: on time, not fixed within 24 hours.

A, B and C are on one street, D and E on another.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

HOUR = 3600
ZONE = ZoneInfo("Asia/Shanghai")
# Some 60 m apart, in Shenzhen.
PLACES = {
    "A": (22.5431, 114.0579),
    "B": (22.5436, 114.0580),
    "C": (22.5432, 114.0585),
    "D": (22.5427, 114.0576),
    "E": (22.5439, 114.0573),
}
STREETS = {
    "A": "福田街道",
    "B": "福田街道",
    "C": "福田街道",
    "D": "南园街道",
    "E": "南园街道",
}


@dataclass
class Scenario:
    numbers: dict = field(default_factory=dict)  # letter -> case number
    started: datetime | None = None

    @property
    def period(self) -> dict:
        first: date = self.started.astimezone(ZONE).date()
        return {
            "from": first.isoformat(),
            "to": (first + timedelta(days=2)).isoformat(),
        }


def _ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


def _dispatch(service, number):
    office = service.as_("office")
    task = office.task_of(number, "triage")
    _ok(
        office.complete(
            task["id"],
            decision="dispatch",
            category="shared-bikes",
            department="traffic-police",
        )
    )


def _handle(service, number, decision="done"):
    liaison = service.as_("traffic-liaison")
    task = liaison.task_of(number, "handle")
    if decision == "done":
        return _ok(
            liaison.complete(
                task["id"], photos=["gravel.png"], decision="done", result="Moved"
            )
        )
    return _ok(liaison.complete(task["id"], decision="return", reason="Not ours"))


def _confirm(service, number, decision="satisfied"):
    deputy = service.as_("deputy")
    task = deputy.task_of(number, "confirm", queue="mine")
    fields = {"reason": "Still there"} if decision == "unsatisfied" else {}
    return _ok(deputy.complete(task["id"], decision=decision, **fields))


def build(service) -> Scenario:
    scenario = Scenario(started=datetime.fromisoformat(service.advance_clock(0)["now"]))
    deputy = service.as_("deputy")
    for letter, (lat, lng) in PLACES.items():
        case = _ok(
            deputy.report(
                description=f"Bikes heaped at corner {letter}",
                category="shared-bikes",
                lat=lat,
                lng=lng,
                address=f"Corner {letter}",
                street=STREETS[letter],
            ),
            201,
        )
        scenario.numbers[letter] = case["number"]
    a, b, c, _d, e = scenario.numbers.values()

    for number in (a, b, c, e):
        _dispatch(service, number)
    _handle(service, a)
    _confirm(service, a)
    _handle(service, c, decision="return")
    _dispatch(service, c)
    _handle(service, e)

    service.advance_clock(5 * HOUR)
    _handle(service, b)
    _confirm(service, b, decision="unsatisfied")
    _handle(service, b)
    _confirm(service, b)

    service.advance_clock(20 * HOUR)
    _confirm(service, e)
    return scenario
