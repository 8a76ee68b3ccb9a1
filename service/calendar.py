"""Working time on the mainland-China calendar: holidays, 调休 workdays, local days."""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

UNITS = ("hours", "working_hours", "working_days")


@lru_cache(maxsize=64)
def _official_year(year: int) -> tuple[frozenset, frozenset]:
    """Official holidays and the weekend days made working days (调休) of one year."""
    china = holidays.China(years=year)
    workdays = frozenset(
        d for d in getattr(china, "weekend_workdays", ()) if d.year == year
    )
    return frozenset(china), workdays


@dataclass(frozen=True)
class WorkingCalendar:
    """Office hours on working days, in the district's time zone.

    `local_days` maps a date to True (a working day) or False (a day off), entered
    by an admin; they override the official calendar.
    """

    zone: ZoneInfo = ZoneInfo("Asia/Shanghai")
    day_start: time = time(9, 0)
    day_end: time = time(18, 0)
    local_days: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def hours_per_day(self) -> float:
        start = datetime.combine(date.min, self.day_start)
        return (datetime.combine(date.min, self.day_end) - start).total_seconds() / 3600

    def is_workday(self, day: date) -> bool:
        if day in self.local_days:
            return self.local_days[day]
        official_holidays, made_workdays = _official_year(day.year)
        if day in made_workdays:
            return True
        if day in official_holidays:
            return False
        return day.weekday() < 5

    def add(self, start: datetime, amount: float, unit: str) -> datetime:
        """The moment `amount` of `unit` after `start`: plain or working time."""
        if unit == "hours":
            return start + timedelta(hours=amount)
        if unit == "working_days":
            amount *= self.hours_per_day
        elif unit != "working_hours":
            raise ValueError(f"unknown unit {unit!r}; one of {', '.join(UNITS)}")
        return self._add_working_seconds(start, amount * 3600)

    def working_seconds(self, start: datetime, end: datetime) -> float:
        """Working time between two moments, in seconds."""
        if end <= start:
            return 0.0
        total, cursor = 0.0, start.astimezone(self.zone)
        end = end.astimezone(self.zone)
        while cursor < end:
            opens, closes = self._window(cursor.date())
            if opens is not None:
                total += max(
                    0.0, (min(closes, end) - max(opens, cursor)).total_seconds()
                )
            cursor = datetime.combine(
                cursor.date() + timedelta(days=1), time(0), self.zone
            )
        return total

    def _add_working_seconds(self, start: datetime, seconds: float) -> datetime:
        cursor = start.astimezone(self.zone)
        for _ in range(3660):  # ten years of days: a calendar with no workdays stops
            opens, closes = self._window(cursor.date())
            if opens is not None and cursor < closes:
                begin = max(cursor, opens)
                available = (closes - begin).total_seconds()
                if seconds <= available:
                    return (begin + timedelta(seconds=seconds)).astimezone(start.tzinfo)
                seconds -= available
            cursor = datetime.combine(
                cursor.date() + timedelta(days=1), time(0), self.zone
            )
        raise ValueError("the calendar has no working days ahead")

    def _window(self, day: date):
        if not self.is_workday(day):
            return None, None
        return (
            datetime.combine(day, self.day_start, self.zone),
            datetime.combine(day, self.day_end, self.zone),
        )
