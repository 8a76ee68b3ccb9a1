"""The shipped departments and categories, seeded into an empty database."""

from sqlalchemy.orm import Session

from models import Category, Department

DEPARTMENTS = [
    ("housing", "Housing and landscaping", "住建园林"),
    ("water", "Water affairs", "水务"),
    ("traffic-police", "Traffic police", "交警"),
    ("city-management", "City management", "城管"),
]

# code, name, name_zh, department, then (hours, unit) for triage, handling and the
# reporter's confirmation. Working days are kept as working hours (9 to a day).
# Urgent categories count plain hours; the figures follow the practice in DOMAIN.md.
WH, WD, H = "working_hours", "working_days", "hours"
CATEGORIES = [
    (
        "city-appearance",
        "City appearance",
        "市容环境",
        "city-management",
        (2, WH),
        (4, WH),
        (72, H),
    ),
    (
        "garbage-sorting",
        "Garbage sorting",
        "垃圾分类",
        "city-management",
        (2, WH),
        (4, WH),
        (72, H),
    ),
    (
        "municipal-facilities",
        "Municipal facilities",
        "市政设施管养",
        "housing",
        (4, WH),
        (45, WD),
        (72, H),
    ),
    (
        "shared-bikes",
        "Shared bikes",
        "共享单车管理",
        "traffic-police",
        (2, H),
        (4, H),
        (48, H),
    ),
    (
        "water-environment",
        "Water environment",
        "水环境治理",
        "water",
        (4, WH),
        (45, WD),
        (72, H),
    ),
    (
        "traffic-congestion",
        "Traffic congestion",
        "交通拥堵点疏解",
        "traffic-police",
        (4, WH),
        (63, WD),
        (72, H),
    ),
    ("noise", "Noise", "噪声扰民", "city-management", (4, WH), (9, WD), (72, H)),
    ("other", "Other", "其他", None, (8, WH), (63, WD), (72, H)),
]


def seed_reference_data(session: Session) -> None:
    """Add the shipped rows that are missing; never overwrite an admin's edits."""
    for code, name, name_zh in DEPARTMENTS:
        if session.get(Department, code) is None:
            session.add(Department(code=code, name=name, name_zh=name_zh))
    session.flush()
    for code, name, name_zh, department, triage, handling, confirm in CATEGORIES:
        if session.get(Category, code) is None:
            session.add(
                Category(
                    code=code,
                    name=name,
                    name_zh=name_zh,
                    department_code=department,
                    triage_hours=triage[0],
                    triage_unit=triage[1],
                    handling_hours=handling[0],
                    handling_unit=handling[1],
                    confirm_hours=confirm[0],
                    confirm_unit=confirm[1],
                )
            )
    session.flush()
