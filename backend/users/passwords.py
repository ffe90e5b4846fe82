"""The password rules, one place for every way a password is set (CLI, admin screens, reset).

At least 12 characters, not the username, and not common or leaked: zxcvbn (installed as a
dependency, works offline) carries lists of the most used and leaked passwords and estimates
how many guesses a password needs; one that is on those lists or that it rates as guessable
(score below 3: a repetition, a sequence, a known word with a few characters added) is
refused. Every refusal is a Dutch sentence that says what to change.
"""

from __future__ import annotations

from functools import lru_cache

from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from backend.errors import RuleViolation

MIN_LENGTH = 12
MAX_LENGTH = 128
# zxcvbn's own bound: its pattern search grows fast with length; a longer password is judged on
# its first characters (which then already have to be strong on their own).
_ESTIMATE_CHARS = 72
MIN_SCORE = 3


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problem(password: str, *, username: str = "") -> str | None:
    """Why this password may not be used (a Dutch sentence), or None when it is fine."""
    if len(password) < MIN_LENGTH:
        return f"Het wachtwoord moet minstens {MIN_LENGTH} tekens hebben."
    if len(password) > MAX_LENGTH:
        return f"Het wachtwoord mag hoogstens {MAX_LENGTH} tekens hebben."
    plain = password.strip().casefold()
    if username and plain == username.strip().casefold():
        return "Het wachtwoord mag niet gelijk zijn aan de gebruikersnaam."
    if plain in _common_passwords():
        return (
            "Dit wachtwoord staat op de lijsten van veelgebruikte of gelekte wachtwoorden; kies een ander wachtwoord."
        )
    inputs = [username, "plekwijzer", "wachtwoord", "jeugdhulp", "jeugdzorg"] if username else ["plekwijzer"]
    result = zxcvbn(password[:_ESTIMATE_CHARS], user_inputs=inputs, max_length=_ESTIMATE_CHARS)
    if result["score"] < MIN_SCORE:
        return (
            "Dit wachtwoord is te makkelijk te raden (bijvoorbeeld een herhaling, een reeks, de gebruikersnaam "
            "of een bekend woord met een paar tekens erbij). Kies een langer wachtwoord, bijvoorbeeld een zin "
            "van een paar woorden die niet bij elkaar horen."
        )
    return None


def check_password(password: str, *, username: str = "") -> None:
    """Refuses a password that breaks the rules with a Dutch 422."""
    problem = password_problem(password, username=username)
    if problem is not None:
        raise RuleViolation(problem, code="password_rejected")
