"""Routers of the domains built on the foundation. Each domain adds one import and one entry,
so that adding a domain touches only this list (and its own folder)."""

from __future__ import annotations

from fastapi import APIRouter

EXTRA_ROUTERS: list[APIRouter] = []
