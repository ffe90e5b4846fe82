"""Regions (youth-care regions such as JZ14 Twente), their municipalities, and PC4 postcodes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel


class Region(SQLModel, table=True):
    __tablename__ = "regions"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(index=True, unique=True, max_length=8)  # CBS code, e.g. JZ14
    name: str = Field(max_length=120)
    # Region settings: intensity band table, matching weights, hold minutes, contract shares.
    settings: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Municipality(SQLModel, table=True):
    __tablename__ = "municipalities"

    id: int | None = Field(default=None, primary_key=True)
    region_id: int = Field(foreign_key="regions.id", index=True)
    cbs_code: str = Field(unique=True, max_length=8)  # e.g. GM0153
    name: str = Field(max_length=120)
    lat: float
    lon: float


class Postcode(SQLModel, table=True):
    """A 4-digit postcode area with its centroid (address postcodes only)."""

    __tablename__ = "postcodes"

    pc4: str = Field(primary_key=True, max_length=4)
    place: str = Field(max_length=120)
    municipality_name: str = Field(default="", max_length=120)
    province: str = Field(default="", max_length=60)
    lat: float
    lon: float


class RegionPublic(SQLModel):
    id: int
    code: str
    name: str


class MunicipalityPublic(SQLModel):
    id: int
    region_id: int
    cbs_code: str
    name: str
    lat: float
    lon: float
