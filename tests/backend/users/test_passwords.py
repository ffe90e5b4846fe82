"""The password rules, in Dutch: long enough, not the username, not common or leaked."""

from __future__ import annotations

import pytest

from backend.errors import RuleViolation
from backend.users.passwords import password_problem
from backend.users.service import create_user

# On zxcvbn's lists of most used and leaked passwords, and 12 characters or more.
COMMON = "qwerty123456"


@pytest.mark.parametrize(
    ("password", "username", "expected"),
    [
        ("Kort-1!", "jan", "minstens 12 tekens"),
        ("CoordinatorTwente", "coordinatortwente", "niet gelijk zijn aan de gebruikersnaam"),
        (COMMON, "jan", "veelgebruikte of gelekte wachtwoorden"),
        ("aaaaaaaaaaaaaaaa", "jan", "te makkelijk te raden"),
        ("wachtwoord1234", "jan", "te makkelijk te raden"),
        ("x" * 129, "jan", "hoogstens 128 tekens"),
    ],
)
def test_weak_passwords_are_refused_in_dutch(password, username, expected):
    problem = password_problem(password, username=username)
    assert problem is not None and expected in problem


def test_a_strong_password_passes():
    assert password_problem("Esdoorn-bij-de-Linde-1987", username="coordinator") is None


def test_create_user_refuses_a_weak_password_and_stores_nothing(db, world):
    from sqlmodel import select

    from backend.users.models import User

    for password in ("kort", "planner-twente", COMMON):
        with pytest.raises(RuleViolation) as refused, db.transaction() as session:
            create_user(session=session, username="planner-twente", password=password, role="viewer")
        assert refused.value.status_code == 422 and refused.value.message.startswith(("Het", "Dit"))
    with db.transaction(write=False) as session:
        assert session.exec(select(User).where(User.username == "planner-twente")).first() is None
