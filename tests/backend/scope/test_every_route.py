"""Region scoping on every route of the OpenAPI document.

Region A is the world's (Twente, JZ14); region B (IJsselland, JZ07) has its own provider,
groups, people of every role and objects. Every operation of ``app.openapi()`` is called as
region B's coordinator, crisis worker, viewer and region administrator with region A's objects
in its path (or query, or body): each answers 403 or 404, a list holds none of region A's
objects, and no answer carries a region-A youth reference. An operation missing from ROUTES
fails the test: a new route is classified here on purpose.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from openpyxl import load_workbook
from sqlmodel import col, select

from backend.audit.models import AuditEntry
from backend.domain import utcnow
from tests.backend.scope.regions import (
    A_MARKERS,
    ROLES_B,
    Objects,
    RegionB,
    build_region_b,
    make_region_a_objects,
    make_region_b_objects,
)
from tests.factories import referral_body

HTTP_METHODS = ("get", "post", "put", "patch", "delete")
REFUSED = (403, 404)


@dataclass
class Ctx:
    world: Any
    a: Objects
    b: RegionB
    own: Objects

    @property
    def params(self) -> dict[str, Any]:
        """Region A's object for each path parameter name."""
        return {
            "group_id": self.world.groups_a[0],
            "referral_id": self.a.referrals[0],
            "hold_id": self.a.holds[0],
            "proposal_id": self.a.proposals[0],
            "placement_id": self.a.placements[0],
            "run_id": self.a.runs[0],
            "reassessment_id": self.a.reassessments[0],
            "term_id": self.a.terms[0],
            "location_id": self.a.locations[0],
            "provider_id": self.a.providers[0],
            "code": "JZ14",
            "user_id": self.a.users[0],
            "key_id": self.a.keys[0],
            "contact_id": self.a.contacts[0],
            "endpoint_id": self.a.endpoints[0],
            "notification_id": self.a.notifications[0],
        }


Maker = Callable[[Ctx], Any]


@dataclass
class Skip:
    """Not region data (log-in, reference lists, the caller's own account or region)."""

    reason: str


@dataclass
class Obj:
    """Names a region-A object (path, query or body): 403 or 404 for every region-B role."""

    body: Maker | None = None
    query: Maker | None = None
    files: bool = False


@dataclass
class Lst:
    """A list: 403, or none of region A's objects of this kind (and region B's own are there)."""

    kind: str
    ids: Callable[[Any], list[int]]
    query: Maker | None = None


@dataclass
class Cross:
    """Allowed across regions for some roles (crisis search, a crisis hold): the answer is
    ``allowed[role]`` and carries no region-A youth data."""

    body: Maker
    allowed: dict[str, int]


@dataclass
class Batch:
    """An occupancy batch naming region A's groups: 403, or every item refused with 404."""

    body: Maker


@dataclass
class AuditRows:
    """The audit log or its export (``json``, ``csv``, ``xlsx``): 403, or only region B's own
    rows (none of region A's, and region B's are there)."""

    fmt: str
    query: Maker | None = None


def audit_rows(response: Any, fmt: str) -> list[tuple[int, Any]]:
    """(id, region) of every row of an audit answer: the region id in JSON, the code in files."""
    if fmt == "json":
        return [(row["id"], row["region_id"]) for row in response.json()]
    if fmt == "csv":
        lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    else:
        lines = [list(r) for r in load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True)]
    column = lines[0].index("Regio")
    return [(int(line[0]), line[column] or None) for line in lines[1:]]


def ids(key: str = "id", inside: str | None = None) -> Callable[[Any], list[int]]:
    return lambda body: [item[key] for item in (body[inside] if inside else body)]


def later(days: int) -> str:
    return (utcnow().date() + timedelta(days=days)).isoformat()


A_ADMISSION: Maker = lambda c: {  # noqa: E731
    "events": [
        {
            "event_id": "b-tries-a",
            "kind": "admission",
            "group_id": c.world.groups_a[1],
            "at": utcnow().isoformat(),
            "stay_reference": "ST-X-1",
            "origin_region_code": "JZ07",
        }
    ]
}
A_CENSUS: Maker = lambda c: {"counts": [{"group_id": c.world.groups_a[1], "date": later(-1), "present": 1}]}  # noqa: E731
REGION_A: Maker = lambda c: {"region": "JZ14"}  # noqa: E731
REGION_A_YEAR: Maker = lambda c: {"region": "JZ14", "year": utcnow().year - 1}  # noqa: E731

ROUTES: dict[str, Any] = {
    # log-in and reference data
    "POST /api/v1/auth/token": Skip("inloggen, zonder account"),
    "GET /api/v1/auth/me": Skip("het eigen account"),
    "GET /api/v1/regions": Skip("referentielijst: namen en codes van de regio's"),
    "GET /api/v1/municipalities": Skip("referentielijst: gemeenten"),
    "GET /api/v1/municipalities/outlines": Skip("referentielijst: gemeentegrenzen uit postcodepunten"),
    "GET /api/v1/ui-settings": Skip("installatie-instellingen van de web-app"),
    "GET /api/v1/vocabulary": Skip("referentielijst: zorgvormen en behoeften"),
    "GET /api/v1/crisis/reject-reasons": Skip("referentielijst: afwijsredenen"),
    "GET /api/v1/referrals/vocabulary": Skip("lijsten van de eigen regio"),
    "POST /api/v1/auth/mfa": Skip("inloggen, tweede stap"),
    "POST /api/v1/auth/refresh": Skip("de eigen sessie verlengen"),
    "POST /api/v1/auth/logout": Skip("de eigen sessie beëindigen"),
    "POST /api/v1/auth/mfa/re-enrol": Skip("het eigen account: een nieuwe authenticator-app"),
    "POST /api/v1/auth/mfa/re-enrol/confirm": Skip("het eigen account: de nieuwe app bevestigen"),
    "POST /api/v1/auth/password": Skip("wachtwoord instellen met een eenmalige code, zonder account"),
    "POST /api/v1/live/ticket": Skip("kaartje voor de eigen live-verbinding"),
    # drafts belong to one person, not to a region (test_drafts: nobody reads another's)
    "GET /api/v1/drafts/{form_key}": Skip("het eigen concept van een formulier"),
    "PUT /api/v1/drafts/{form_key}": Skip("het eigen concept van een formulier"),
    "DELETE /api/v1/drafts/{form_key}": Skip("het eigen concept van een formulier"),
    # people and keys
    "GET /api/v1/users": Lst("users", ids()),
    "POST /api/v1/users": Obj(body=lambda c: {"username": "b_maakt_a", "role": "coordinator", "region": "JZ14"}),
    "PATCH /api/v1/users/{user_id}": Obj(body=lambda c: {"role": "viewer"}),
    "POST /api/v1/users/{user_id}/deactivate": Obj(),
    "POST /api/v1/users/{user_id}/reactivate": Obj(),
    "POST /api/v1/users/{user_id}/password-reset": Obj(),
    "GET /api/v1/api-keys": Lst("keys", ids()),
    "POST /api/v1/api-keys": Obj(body=lambda c: {"provider": c.world.provider_a, "name": "van B"}),
    "POST /api/v1/api-keys/{key_id}/revoke": Obj(),
    # audit log: a region administrator reads its own region's rows only
    # (every row of the test: the region-B rows made before the check are not the newest)
    "GET /api/v1/audit": AuditRows("json", query=lambda c: {"limit": 5000}),
    "GET /api/v1/audit/purposes": Skip("referentielijst: doelen"),
    "GET /api/v1/audit/export.csv": AuditRows("csv"),
    "GET /api/v1/audit/export.xlsx": AuditRows("xlsx"),
    # regions
    "GET /api/v1/regions/{code}/settings": Obj(),
    "PUT /api/v1/regions/{code}/settings": Obj(body=lambda c: {}),
    # providers and groups
    "GET /api/v1/providers": Lst("providers", ids()),
    "GET /api/v1/providers/{provider_id}": Obj(),
    "GET /api/v1/groups": Lst("groups", ids()),
    "GET /api/v1/groups/{group_id}": Obj(),
    # register
    "GET /api/v1/register/export": Obj(query=REGION_A),
    "POST /api/v1/register/import": Obj(query=REGION_A, files=True),
    "GET /api/v1/groups/{group_id}/contract-terms": Obj(),
    "POST /api/v1/groups/{group_id}/contract-terms": Obj(
        body=lambda c: {"valid_from": later(60), "contracted_places": 8, "availability_funded": False}
    ),
    "POST /api/v1/groups/{group_id}/places-requests": Obj(
        body=lambda c: {"valid_from": later(60), "contracted_places": 9}
    ),
    "POST /api/v1/places-requests/{term_id}/decision": Obj(body=lambda c: {"approve": True}),
    "PATCH /api/v1/groups/{group_id}/contract": Obj(body=lambda c: {"level": None}),
    "PATCH /api/v1/locations/{location_id}": Obj(body=lambda c: {"name": "Elders"}),
    "PATCH /api/v1/providers/{provider_id}": Obj(body=lambda c: {"phone_24h": "0570-000000"}),
    "PATCH /api/v1/groups/{group_id}/profile": Obj(body=lambda c: {"age_min": 12}),
    # availability
    "PUT /api/v1/groups/{group_id}/availability": Obj(body=lambda c: {"free_places": 1}),
    "GET /api/v1/availability": Lst("groups", ids(inside="groups")),
    "GET /api/v1/groups/{group_id}/availability": Obj(),
    "PUT /api/v1/groups/{group_id}/places-source": Obj(body=lambda c: {"follow_feed": True}),
    # crisis
    "POST /api/v1/crisis/search": Cross(
        body=lambda c: {"age": 15, "lat": 52.3, "lon": 6.7},
        allowed={"coordinator": 200, "crisis": 200, "viewer": 200, "admin": 200},
    ),
    "GET /api/v1/crisis/overview": [
        Lst("groups", ids("group_id", inside="groups")),
        Obj(query=lambda c: {"region_code": "JZ14"}),
    ],
    "POST /api/v1/holds": Cross(
        body=lambda c: {"group_id": c.world.groups_b[1], "crisis_reference": "CR-B-9", "age": 16},
        allowed={"coordinator": 403, "crisis": 201, "viewer": 403, "admin": 404},
    ),
    "GET /api/v1/holds": Lst("holds", ids()),
    "GET /api/v1/holds/{hold_id}": Obj(),
    "POST /api/v1/holds/{hold_id}/confirm": Obj(),
    "DELETE /api/v1/holds/{hold_id}": Obj(),
    "POST /api/v1/holds/{hold_id}/reject": Obj(body=lambda c: {"reason_code": "groep_vol"}),
    # occupancy
    "POST /api/v1/occupancy/events": Batch(A_ADMISSION),
    "POST /api/v1/occupancy/census": Batch(A_CENSUS),
    "GET /api/v1/occupancy/groups/{group_id}": Obj(),
    "GET /api/v1/occupancy/groups/{group_id}/events": Obj(),
    "GET /api/v1/occupancy/groups/{group_id}/bed-days": Obj(),
    "GET /api/v1/occupancy/discrepancies": [Lst("groups", ids("group_id")), Obj(query=REGION_A)],
    "POST /api/v1/occupancy/discrepancies/{group_id}/resolve": Obj(body=lambda c: {"action": "follow_feed"}),
    "GET /api/v1/occupancy/groups/{group_id}/stays": Obj(),
    # intensity
    "POST /api/v1/intensity/calculate": Obj(body=lambda c: {"weekly_roster_hours": 220, "places": 8, "region": "JZ14"}),
    "GET /api/v1/intensity/groups/{group_id}": Obj(),
    "PUT /api/v1/groups/{group_id}/staffing": Obj(body=lambda c: {"weekly_roster_hours": 250}),
    "GET /api/v1/intensity/reassessments": Lst("reassessments", ids()),
    "POST /api/v1/intensity/reassessments/{reassessment_id}/decision": Obj(body=lambda c: {"approve": True}),
    # reports
    "GET /api/v1/post-calculation": Obj(query=REGION_A_YEAR),
    "POST /api/v1/post-calculation/finalise": Obj(body=REGION_A_YEAR),
    "GET /api/v1/post-calculation/export.csv": Obj(query=REGION_A_YEAR),
    "GET /api/v1/post-calculation/export.xlsx": Obj(query=REGION_A_YEAR),
    "GET /api/v1/post-calculation/groups/{group_id}/chart.svg": Obj(query=lambda c: {"year": utcnow().year - 1}),
    "GET /api/v1/data-quality": Obj(query=REGION_A),
    "GET /api/v1/data-quality/export.csv": Obj(query=REGION_A),
    # crisis capacity planner
    "GET /api/v1/planning/crisis-capacity": Obj(query=REGION_A),
    # A what-if run of region A's history; {run_id} names a matching run, so the reads test an id
    # that is no what-if run of region B's (tests/backend/whatif checks region A's own runs).
    "POST /api/v1/whatif/runs": Obj(
        body=lambda c: {
            "region_id": c.world.region_id,
            "start": "2025-01-01",
            "end": "2025-03-31",
            "change": "close",
            "group_id": c.world.groups_a[0],
        }
    ),
    "GET /api/v1/whatif/runs": Obj(query=lambda c: {"region_id": c.world.region_id}),
    "GET /api/v1/whatif/runs/{run_id}": Obj(),
    "POST /api/v1/whatif/runs/{run_id}/cancel": Obj(),
    # referrals and matching
    "POST /api/v1/referrals": Obj(body=lambda c: {**referral_body("TW-X-1"), "region_id": c.world.region_id}),
    "GET /api/v1/referrals": Lst("referrals", ids()),
    "GET /api/v1/referrals/{referral_id}": Obj(),
    "PATCH /api/v1/referrals/{referral_id}": Obj(body=lambda c: {"urgency": 4}),
    "POST /api/v1/referrals/{referral_id}/withdraw": Obj(body=lambda c: {"reason": "verhuisd naar elders"}),
    "GET /api/v1/referrals/{referral_id}/options": Obj(),
    "GET /api/v1/referrals/{referral_id}/timeline": Obj(),
    "GET /api/v1/referrals/{referral_id}/options/{group_id}": Obj(),
    "POST /api/v1/matching/runs": Obj(body=lambda c: {"region_id": c.world.region_id}),
    "GET /api/v1/matching/runs": Lst("runs", ids()),
    "GET /api/v1/matching/runs/{run_id}": Obj(),
    "POST /api/v1/matching/runs/{run_id}/proposals": Obj(),
    "POST /api/v1/referrals/{referral_id}/proposals": Obj(body=lambda c: {"group_id": c.world.groups_a[1]}),
    # proposals
    "GET /api/v1/proposals": Lst("proposals", ids()),
    "GET /api/v1/proposals/{proposal_id}": Obj(),
    "POST /api/v1/proposals/{proposal_id}/accept": Obj(),
    "POST /api/v1/proposals/{proposal_id}/decline": Obj(body=lambda c: {"reason": "anders", "text": "past niet"}),
    # placements
    "GET /api/v1/placements/vocabulary": Skip("referentielijst: statussen en uitstroombestemmingen"),
    "GET /api/v1/placements": Lst("placements", ids()),
    "GET /api/v1/placements/{placement_id}": Obj(),
    "POST /api/v1/placements/{placement_id}/arrival": Obj(body=lambda c: {"stay_reference": "B-PROBEERT"}),
    "POST /api/v1/placements/{placement_id}/no-show": Obj(body=lambda c: {"kind": "no_show", "reason": "niet gekomen"}),
    "POST /api/v1/placements/{placement_id}/discharge": Obj(body=lambda c: {"destination": "home"}),
    "POST /api/v1/placements/{placement_id}/transfer": Obj(body=lambda c: {"group_id": c.world.groups_a[1]}),
    # steering indicators
    "GET /api/v1/indicators": Obj(query=REGION_A),
    "GET /api/v1/indicators/export.csv": Obj(query=REGION_A),
    "GET /api/v1/indicators/export.xlsx": Obj(query=REGION_A),
    # notifications
    "GET /api/v1/notifications": Skip("het eigen meldingencentrum"),
    "POST /api/v1/notifications/read-all": Skip("de eigen meldingen gelezen"),
    "POST /api/v1/notifications/{notification_id}/read": Obj(),
    "GET /api/v1/notifications/preferences": Skip("de eigen voorkeuren"),
    "PUT /api/v1/notifications/preferences": Skip("de eigen voorkeuren"),
    "GET /api/v1/notifications/dead-letters": Lst("notifications", ids()),
    "POST /api/v1/notifications/{notification_id}/retry": Obj(),
    "GET /api/v1/providers/{provider_id}/contacts": Obj(),
    "POST /api/v1/providers/{provider_id}/contacts": Obj(
        body=lambda c: {"name": "B", "email": "b@b.test", "crisis": True}
    ),
    "DELETE /api/v1/provider-contacts/{contact_id}": Obj(),
    "GET /api/v1/providers/{provider_id}/webhooks": Obj(),
    "POST /api/v1/providers/{provider_id}/webhooks": Obj(body=lambda c: {"url": "https://b.test/hook"}),
    "DELETE /api/v1/webhooks/{endpoint_id}": Obj(),
    "POST /api/v1/webhooks/{endpoint_id}/test": Obj(),
    "GET /api/v1/webhooks/{endpoint_id}/deliveries": Obj(),
    "GET /api/v1/figure-confirmations": Skip("ondertekende eenklik-link: zonder account, alleen die ene groep"),
    "POST /api/v1/figure-confirmations": Skip("ondertekende eenklik-link: zonder account, alleen die ene groep"),
}


def operations(app: Any) -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, item in app.openapi()["paths"].items()
        for method in item
        if method in HTTP_METHODS
    ]


def region_ids(node: Any) -> list[Any]:
    """Every ``region_id`` value anywhere in a JSON answer."""
    if isinstance(node, dict):
        found = [node["region_id"]] if "region_id" in node else []
        return found + [v for child in node.values() for v in region_ids(child)]
    if isinstance(node, list):
        return [v for child in node for v in region_ids(child)]
    return []


def no_youth_of_a(label: str, response: Any) -> None:
    text = response.text
    leaked = [marker for marker in A_MARKERS if marker in text]
    assert not leaked, f"{label}: region A's youth data in the answer ({leaked}): {text[:300]}"


def call(client: Any, ctx: Ctx, method: str, path: str, who: str, spec: Any) -> Any:
    url = path
    for name in [part[1:-1] for part in path.split("/") if part.startswith("{")]:
        assert name in ctx.params, f"{method} {path}: no region-A object for path parameter {name!r}"
        url = url.replace("{" + name + "}", str(ctx.params[name]))
    kwargs: dict[str, Any] = {"headers": ctx.b.headers(who)}
    query = getattr(spec, "query", None)
    if query is not None:
        kwargs["params"] = query(ctx)
    body = getattr(spec, "body", None)
    if getattr(spec, "files", False):
        kwargs["files"] = {"files": ("register.xlsx", b"geen echte werkmap", "application/octet-stream")}
    elif body is not None:
        kwargs["content"] = json.dumps(body(ctx))
        kwargs["headers"] = {**kwargs["headers"], "Content-Type": "application/json"}
    return client.request(method, url, **kwargs)


def check(client: Any, ctx: Ctx, method: str, path: str, who: str, spec: Any) -> None:
    label = f"{method} {path} as region B's {who}"
    response = call(client, ctx, method, path, who, spec)
    no_youth_of_a(label, response)
    if isinstance(spec, Obj):
        assert response.status_code in REFUSED, f"{label}: {response.status_code} {response.text[:300]}"
    elif isinstance(spec, Lst):
        if response.status_code == 403:
            return
        assert response.status_code == 200, f"{label}: {response.status_code} {response.text[:300]}"
        body = response.json()
        got = set(spec.ids(body))
        assert not got & set(getattr(ctx.a, spec.kind)), f"{label}: lists region A's {spec.kind} {got}"
        assert ctx.world.region_id not in region_ids(body), f"{label}: region A's objects in the list"
        own = set(getattr(ctx.own, spec.kind))
        assert got & own or not own or (spec.kind == "groups" and "discrepancies" in path), (
            f"{label}: region B's own {spec.kind} {own} missing from {got} (the check would prove nothing)"
        )
    elif isinstance(spec, Cross):
        assert response.status_code == spec.allowed[who], f"{label}: {response.status_code} {response.text[:300]}"
    elif isinstance(spec, AuditRows):
        if who != "admin":
            assert response.status_code == 403, f"{label}: {response.status_code} {response.text[:300]}"
            return
        assert response.status_code == 200, f"{label}: {response.status_code} {response.text[:300]}"
        rows = audit_rows(response, spec.fmt)
        own_region = ctx.b.region_id if spec.fmt == "json" else ctx.b.code
        assert rows and {region for _id, region in rows} == {own_region}, f"{label}: rows of other regions {rows}"
        got = {row_id for row_id, _region in rows}
        assert not got & set(ctx.a.audit), f"{label}: region A's audit rows {sorted(got & set(ctx.a.audit))}"
        assert got & set(ctx.own.audit), f"{label}: region B's own rows missing (the check would prove nothing)"
    elif isinstance(spec, Batch):
        if response.status_code == 403:
            return
        assert response.status_code == 200, f"{label}: {response.status_code} {response.text[:300]}"
        results = response.json()["results"]
        assert results and all(r["status"] == "refused" and r["http_status"] == 404 for r in results), label
    else:  # pragma: no cover - the table holds only the kinds above
        raise AssertionError(f"{label}: unknown kind {spec!r}")


def test_every_route_is_classified(app):
    found = {f"{m} {p}" for m, p in operations(app)}
    unknown = sorted(found - set(ROUTES))
    stale = sorted(set(ROUTES) - found)
    assert not unknown, f"new routes: classify them in ROUTES (region scope): {unknown}"
    assert not stale, f"ROUTES names routes that no longer exist: {stale}"


def test_region_b_sees_and_changes_nothing_of_region_a_on_any_route(app, client, world, db, settings):
    b = build_region_b(db, settings)
    ctx = Ctx(world=world, a=make_region_a_objects(client, world, db), b=b, own=make_region_b_objects(client, b))
    with db.transaction(write=False) as session:
        for objects, region in ((ctx.a, world.region_id), (ctx.own, b.region_id)):
            objects.audit = list(session.exec(select(AuditEntry.id).where(col(AuditEntry.region_id) == region)))
    assert ctx.a.audit and ctx.own.audit
    checked = 0
    for method, path in operations(app):
        specs = ROUTES[f"{method} {path}"]
        for spec in specs if isinstance(specs, list) else [specs]:
            if isinstance(spec, Skip):
                continue
            for who in ROLES_B:
                check(client, ctx, method, path, who, spec)
                checked += 1
    assert checked > 200
    # Region A's own people still see their objects: the 404s above are the scope, not a typo.
    h = world.headers
    assert client.get(f"/api/v1/holds/{ctx.a.holds[0]}", headers=h("coordinator")).status_code == 200
    assert client.get(f"/api/v1/referrals/{ctx.a.referrals[0]}", headers=h("coordinator")).status_code == 200
    assert client.get(f"/api/v1/proposals/{ctx.a.proposals[0]}", headers=h("admin")).status_code == 200
    assert client.get(f"/api/v1/matching/runs/{ctx.a.runs[0]}", headers=h("coordinator")).status_code == 200
    assert client.get("/api/v1/register/export", headers=h("admin")).status_code == 200
