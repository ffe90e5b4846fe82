"""Settings: what production refuses to start with."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_production_refuses_default_secret():
    from pydantic import ValidationError

    from backend.config import Settings

    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(environment="production")
    assert Settings(environment="production", secret_key="x" * 40).environment == "production"


@pytest.mark.parametrize("environment", ["production", "test"])
def test_outside_development_the_published_secret_is_refused(environment: str) -> None:
    from pydantic import ValidationError

    from backend.config import DEVELOPMENT_SECRET, Settings

    with pytest.raises(ValidationError, match="PLEKWIJZER_SECRET_KEY") as refused:
        Settings(environment=environment, secret_key=DEVELOPMENT_SECRET)
    assert DEVELOPMENT_SECRET not in str(refused.value)
    assert Settings(environment="development").secret_key == DEVELOPMENT_SECRET


def test_a_secret_is_never_printed() -> None:
    from pydantic import ValidationError

    from backend.config import Settings

    secret = "s3cret-" + "k" * 40
    settings = Settings(
        environment="production", secret_key=secret, database_url="postgresql://plekwijzer:db-p4ssword@db/plekwijzer"
    )
    for text in (repr(settings), str(settings)):
        assert secret not in text and "db-p4ssword" not in text
    # A refused secret is not repeated in the error either.
    with pytest.raises(ValidationError) as refused:
        Settings(environment="production", secret_key="short-secret-value")
    assert "short-secret-value" not in str(refused.value)
    assert "at least 32 characters" in str(refused.value)


def test_the_documentation_is_open_in_development_only_by_default() -> None:
    from backend.config import Settings

    assert Settings(environment="development").api_docs_mode == "open"
    assert Settings(environment="production", secret_key="x" * 40).api_docs_mode == "admin"
    assert Settings(environment="production", secret_key="x" * 40, api_docs="off").api_docs_mode == "off"


def test_the_server_refuses_to_start_in_production_with_the_published_secret(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``plekwijzer serve`` stops before it listens, says why, and prints no secret."""
    import os
    import subprocess
    import sys

    from backend.config import DEVELOPMENT_SECRET

    env = {k: v for k, v in os.environ.items() if not k.startswith("PLEKWIJZER_")}
    env.update(
        {
            "PLEKWIJZER_ENVIRONMENT": "production",
            "PLEKWIJZER_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
            "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        }
    )
    done = subprocess.run(
        [sys.executable, "-m", "backend.cli", "serve", "--port", "1"],
        cwd=tmp_path,  # no .env file here
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "Instellingen geweigerd: PLEKWIJZER_SECRET_KEY must be set" in done.stderr
    assert DEVELOPMENT_SECRET not in done.stdout + done.stderr
