"""The shipped departments and categories, seeded into an empty database."""

from sqlalchemy.orm import Session

from models import Category, Department

DEPARTMENTS = [
    ("housing", "Housing and landscaping", "住建园林"),
    ("water", "Water affairs", "水务"),
    ("traffic-police", "Traffic police", "交警"),
    ("city-management", "City management", "城管"),
]

# code, name, name_zh, department, triage hours, handling hours, confirm hours
CATEGORIES = [
    ("city-appearance", "City appearance", "市容环境", "city-management", 4, 24, 72),
    ("garbage-sorting", "Garbage sorting", "垃圾分类", "city-management", 4, 24, 72),
    (
        "municipal-facilities",
        "Municipal facilities",
        "市政设施管养",
        "housing",
        8,
        72,
        72,
    ),
    ("shared-bikes", "Shared bikes", "共享单车管理", "traffic-police", 2, 4, 48),
    ("water-environment", "Water environment", "水环境治理", "water", 8, 72, 72),
    (
        "traffic-congestion",
        "Traffic congestion",
        "交通拥堵点疏解",
        "traffic-police",
        4,
        48,
        72,
    ),
    ("noise", "Noise", "噪声扰民", "city-management", 4, 24, 72),
    ("other", "Other", "其他", None, 8, 168, 72),
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
                    triage_hours=triage,
                    handling_hours=handling,
                    confirm_hours=confirm,
                )
            )
    session.flush()
