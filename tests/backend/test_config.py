"""Settings: what production refuses to start with."""

from __future__ import annotations

import pytest


def test_production_refuses_default_secret():
    from pydantic import ValidationError

    from backend.config import Settings

    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(environment="production")
    assert Settings(environment="production", secret_key="x" * 40).environment == "production"
