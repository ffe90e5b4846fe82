"""The ``plekwijzer`` command line.

Database commands work on ``PLEKWIJZER_DATABASE_URL`` directly; ``availability`` talks to a
running server through the Python client (``--url`` or ``PLEKWIJZER_URL``; authenticate with
``PLEKWIJZER_API_KEY``, ``PLEKWIJZER_TOKEN``, or ``--username`` and a password on standard input).
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from datetime import date
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy.engine import make_url

# Every table must be registered, or a flush cannot resolve foreign keys to tables that a
# command itself never imported (users -> regions).
import backend.tables  # noqa: F401
from backend.client import PlekwijzerClient, PlekwijzerError
from backend.config import get_settings
from backend.db import Database
from backend.errors import DomainError
from backend.migrate import upgrade
from backend.regions.service import import_postcodes
from backend.users.service import create_api_key, create_user


def _database() -> Database:
    return Database(get_settings())


def cmd_db_upgrade(_: argparse.Namespace) -> int:
    url = get_settings().database_url
    upgrade(url)
    # Never print the database password.
    print(f"Database bijgewerkt: {make_url(url).render_as_string(hide_password=True)}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    # Imported here, not at the top: the demo loads every domain (the whole app), which would
    # make the client commands (availability set/show) take seconds to start. Not a cycle.
    from backend.demo import load_demo

    settings = get_settings()
    upgrade(settings.database_url)
    db = _database()
    users_file = Path(args.users_file).resolve()
    try:
        with db.transaction() as session:
            summary = load_demo(session=session, seed=args.seed, users_file=users_file)
    except ValueError as exc:
        print(str(exc))
        return 0
    print(f"Demodata geladen: regio Twente, 14 gemeenten, {summary.providers} aanbieders, {summary.groups} groepen.")
    print("Demo-gebruikers (rol):")
    for username, role, provider_id in summary.users:
        suffix = f", aanbieder {provider_id}" if provider_id else ""
        print(f"  {username} ({role}{suffix})")
    print(f"De wachtwoorden en een API-sleutel staan in {summary.users_file}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    get_settings()  # refused settings (the published secret outside development) stop here, cleanly
    if not get_settings().mfa_role_set:
        print("LET OP: tweestapsverificatie staat uit (PLEKWIJZER_MFA_ROLES is leeg).", file=sys.stderr)
    uvicorn.run(
        "backend.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        ws="websockets-sansio",
        # The app itself decides which X-Forwarded-For to believe (PLEKWIJZER_TRUSTED_PROXIES);
        # uvicorn's own rewriting would trust any client connecting from 127.0.0.1.
        proxy_headers=False,
    )
    return 0


def cmd_notify_worker(args: argparse.Namespace) -> int:
    """Deliver the outbox's e-mails and webhooks until SIGTERM or SIGINT (any number of these
    beside the API processes; they share the work with FOR UPDATE SKIP LOCKED)."""
    import signal
    import threading

    from backend.db import Database
    from backend.notifications.dispatcher import run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    db = Database(get_settings())
    try:
        run_worker(db, poll_seconds=args.poll_seconds, stop=stop)
    finally:
        db.dispose()
    return 0


def cmd_import_postcodes(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.exists():
        print(f"Bestand niet gevonden: {path}", file=sys.stderr)
        return 2
    with _database().transaction() as session:
        count = import_postcodes(session=session, path=path)
    print(f"{count} adrespostcodes geladen uit {path}")
    return 0


def _region_code(args: argparse.Namespace) -> str | None:
    return args.region.strip().upper() if args.region else None


def cmd_register_export(args: argparse.Namespace) -> int:
    from sqlmodel import select

    from backend.regions.models import Region
    from backend.register import exporter
    from backend.register import sheets as S

    target = Path(args.file)
    with _database().transaction(write=False) as session:
        regions = list(session.exec(select(Region)).all())
        code = _region_code(args)
        chosen = [r for r in regions if code is None or r.code == code]
        if len(chosen) != 1:
            known = ", ".join(r.code for r in regions) or "geen"
            print(f"Geef de regio op met --region (bekend: {known}).", file=sys.stderr)
            return 2
        tables = exporter.register_tables(session=session, region=chosen[0])
    if target.suffix.lower() == ".xlsx":
        target.write_bytes(S.write_workbook(tables))
    else:
        target.mkdir(parents=True, exist_ok=True)
        for name, data in S.write_csv_files(tables).items():
            (target / name).write_bytes(data)
    counts = ", ".join(f"{len(rows)} {name}" for name, rows in tables.items() if name != "regio")
    print(f"Register van {chosen[0].code} geschreven naar {target}: {counts}")
    return 0


def cmd_register_import(args: argparse.Namespace) -> int:
    from backend.auth import Principal
    from backend.register import importer
    from backend.register import sheets as S

    path = Path(args.file)
    if not path.exists():
        print(f"Bestand niet gevonden: {path}", file=sys.stderr)
        return 2
    try:
        raw = S.read_register_file(path)
    except S.FileError as exc:
        print(f"Fout: {exc}", file=sys.stderr)
        return 1
    db = _database()
    actor = Principal(kind="cli", id=0, name=getpass.getuser(), role="admin", provider_id=None)
    print("Bestand controleren...", flush=True)
    with db.transaction() as session:
        plan = importer.check(session=session, raw=raw, region_code=_region_code(args))
        if plan.problems:
            count = len(plan.problems)
            problems = "probleem" if count == 1 else "problemen"
            print(f"Het bestand is niet ingelezen ({count} {problems}); er is niets gewijzigd:", file=sys.stderr)
            for problem in plan.problems:
                print(f"  {problem.text()}", file=sys.stderr)
            return 1
        for sheet, counts in plan.counts().items():
            if any(counts.values()):
                print(f"  {sheet}: {counts['added']} nieuw, {counts['changed']} gewijzigd, {counts['ended']} beëindigd")
        if not plan.changes:
            print("Niets te wijzigen: het register is al zo.")
            return 0
        if args.dry_run:
            print("Proefrun: er is niets gewijzigd.")
            return 0

        def shown(done: int, total: int) -> None:
            print(f"\rToepassen: {done}/{total} ({100 * done // total}%)", end="", flush=True)

        importer.apply(
            session=session, plan=plan, actor=actor, stale_after_hours=db.settings.stale_after_hours, progress=shown
        )
    print(f"\nRegister van {plan.region_code} ingelezen.")
    return 0


def cmd_users_create(args: argparse.Namespace) -> int:
    from backend.audit.service import record
    from backend.users.accounts import PURPOSE, cli_actor, region_id_for_code
    from backend.users.mfa import account_region

    password = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else getpass.getpass("Wachtwoord: ")
    with _database().transaction() as session:
        region_id = region_id_for_code(session, args.region) if args.region else None
        user = create_user(
            session=session,
            username=args.username,
            password=password,
            role=args.role,
            provider_id=args.provider,
            region_id=region_id,
        )
        assert user.id is not None
        record(
            session=session,
            actor=cli_actor(getpass.getuser()),
            action="user.create",
            object_type="user",
            object_id=user.id,
            purpose=PURPOSE,
            detail={"username": user.username, "role": user.role, "region_id": region_id, "provider_id": args.provider},
            region_id=account_region(session, region_id=region_id, provider_id=args.provider),
        )
    print(f"Gebruiker {user.username} ({user.role}) aangemaakt met id {user.id}")
    return 0


def cmd_users_deactivate(args: argparse.Namespace) -> int:
    from backend.users.accounts import cli_actor, set_active, user_id_for_username

    with _database().transaction() as session:
        user_id = user_id_for_username(session, args.username)
        set_active(session=session, principal=cli_actor(getpass.getuser()), user_id=user_id, active=False)
    print(f"Gebruiker {args.username} gedeactiveerd; alle sessies zijn beëindigd.")
    return 0


def cmd_api_keys_revoke(args: argparse.Namespace) -> int:
    from backend.users.accounts import cli_actor, revoke_key

    with _database().transaction() as session:
        key = revoke_key(session=session, principal=cli_actor(getpass.getuser()), key_id=args.id)
    print(f"API-sleutel {key.id} ({key.name or key.prefix}) van aanbieder {key.provider_id} ingetrokken.")
    return 0


def cmd_users_new_totp_key(args: argparse.Namespace) -> int:
    from backend.users.totp_secrets import new_key

    print(new_key())
    return 0


def cmd_users_rotate_totp_key(args: argparse.Namespace) -> int:
    """Encrypt every stored TOTP secret under the first key of PLEKWIJZER_TOTP_ENCRYPTION_KEYS
    (plaintext ones from before encryption at rest too); audited."""
    from backend.users.accounts import cli_actor
    from backend.users.mfa import rotate_secrets

    db = _database()
    try:
        with db.transaction() as session:
            count = rotate_secrets(session=session, settings=db.settings, actor=cli_actor(getpass.getuser()))
    finally:
        db.dispose()
    print(f"{count} TOTP-sleutel(s) opnieuw versleuteld met de eerste sleutel.")
    return 0


def cmd_users_reset_mfa(args: argparse.Namespace) -> int:
    from backend.auth import Principal
    from backend.users.mfa import reset_second_factor

    actor = Principal(kind="cli", id=0, name=getpass.getuser(), role="admin", provider_id=None)
    with _database().transaction() as session:
        user = reset_second_factor(session=session, username=args.username, actor=actor)
    print(
        f"Tweestapsverificatie van {user.username} is gewist; bij de volgende keer inloggen stelt "
        "deze gebruiker haar opnieuw in (na het wachtwoord)."
    )
    return 0


def cmd_api_keys_create(args: argparse.Namespace) -> int:
    with _database().transaction() as session:
        record, key = create_api_key(session=session, provider_id=args.provider, name=args.name)
    print(f"API-sleutel {record.id} voor aanbieder {args.provider}; bewaar hem goed, hij wordt maar één keer getoond:")
    print(key)
    return 0


def cmd_audit_seal(_: argparse.Namespace) -> int:
    from backend.audit import chain

    db = _database()
    try:
        print(f"{chain.seal(db)} auditregels verzegeld.")
    finally:
        db.dispose()
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from backend.audit import chain

    db = _database()
    try:
        result = chain.verify(db, retention_days=db.settings.audit_retention_days)
    finally:
        db.dispose()
    print(result.text())
    return 0 if result.ok else 1


def cmd_audit_retain(_: argparse.Namespace) -> int:
    from backend.audit import chain

    db = _database()
    try:
        days = db.settings.audit_retention_days
        removed = chain.retain(db, retention_days=days)
    finally:
        db.dispose()
    print(
        f"{removed} auditregels ouder dan {days} dagen verwijderd." if days else "Bewaartermijn 0: alles wordt bewaard."
    )
    return 0


def cmd_audit_export(args: argparse.Namespace) -> int:
    from backend.audit import export
    from backend.audit import service as audit
    from backend.auth import Principal

    path = Path(args.file)
    if path.suffix.lower() not in (".csv", ".xlsx"):
        print("Fout: kies een bestandsnaam op .csv of .xlsx.", file=sys.stderr)
        return 2
    filters = audit.AuditFilter(youth_record=args.youth_record, actor=args.actor, start=args.start, end=args.end)
    # Who exported: the operating-system account that ran the command (the CLI has no login).
    actor = Principal(kind="cli", id=0, name=getpass.getuser(), role="admin", provider_id=None)
    db = _database()
    try:
        with db.transaction() as session:
            rows = audit.export_log(session=session, principal=actor, filters=filters, how=path.suffix[1:])
            regions = audit.region_codes(session)
    finally:
        db.dispose()
    path.write_bytes(export.to_csv(rows, regions) if path.suffix.lower() == ".csv" else export.to_xlsx(rows, regions))
    print(f"{len(rows)} auditregels geschreven naar {path}")
    return 0


def _client(args: argparse.Namespace) -> PlekwijzerClient:
    url = args.url or os.environ.get("PLEKWIJZER_URL", "http://127.0.0.1:8000")
    api_key = os.environ.get("PLEKWIJZER_API_KEY")
    token = os.environ.get("PLEKWIJZER_TOKEN")
    client = PlekwijzerClient(url, api_key=api_key, token=token)
    if args.username:
        password = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else getpass.getpass("Wachtwoord: ")

        def code() -> str:  # asked only for a role with a second factor: the next line, or typed
            return sys.stdin.readline().strip() if not sys.stdin.isatty() else input("Code uit uw authenticator-app: ")

        client.login(args.username, password, code=code)
    elif not api_key and not token:
        print("Geef PLEKWIJZER_API_KEY, PLEKWIJZER_TOKEN of --username op.", file=sys.stderr)
        raise SystemExit(2)
    return client


def cmd_availability_set(args: argparse.Namespace) -> int:
    with _client(args) as client:
        group = client.set_availability(
            args.group_id, free_places=args.free, admitting=args.not_admitting is None, reason=args.not_admitting
        )
    state = "plaatst" if group.admitting else f"plaatst niet ({group.reason})"
    print(
        f"Groep {group.id} {group.name}: {group.free_places} van {group.capacity} vrij, {state}; versie {group.version}"
    )
    return 0


def cmd_availability_show(args: argparse.Namespace) -> int:
    filters = {}
    if args.care_form:
        filters["care_form"] = args.care_form
    with _client(args) as client:
        groups = client.availability(**filters)
    print(f"{'id':>5}  {'groep':<32} {'zorgvorm':<14} {'vrij':>4}/{'cap':<4} status")
    for g in groups:
        status = "plaatst" if g.admitting else f"plaatst niet: {g.reason}"
        if g.stale:
            status += " (verouderd)"
        print(f"{g.id:>5}  {g.name[:32]:<32} {g.care_form:<14} {g.free_places:>4}/{g.capacity:<4} {status}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="plekwijzer", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="the database schema (Alembic migrations)").add_subparsers(
        dest="db_command", required=True
    )
    db.add_parser("upgrade", help="apply the migrations").set_defaults(func=cmd_db_upgrade)

    demo = sub.add_parser("demo", help="load deterministic Twente demo data")
    demo.add_argument("--seed", type=int, default=2025)
    demo.add_argument("--users-file", default="plekwijzer-demo-users.txt")
    demo.set_defaults(func=cmd_demo)

    serve = sub.add_parser("serve", help="start the API and web app")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("notify-worker", help="deliver notification e-mails and webhooks (until stopped)")
    worker.add_argument("--poll-seconds", type=float, default=0.5)
    worker.set_defaults(func=cmd_notify_worker)

    pc = sub.add_parser("import-postcodes", help="load 4-digit postcode centroids from a CSV")
    pc.add_argument("file")
    pc.set_defaults(func=cmd_import_postcodes)

    register = sub.add_parser("register", help="the region's contract register").add_subparsers(
        dest="register_command", required=True
    )
    export = register.add_parser("export", help="write the register (.xlsx, or a folder of CSV files)")
    export.add_argument("file")
    export.add_argument("--region", help="region code, e.g. JZ14 (needed when there are several)")
    export.set_defaults(func=cmd_register_export)
    load = register.add_parser("import", help="read a register (.xlsx, or a folder of CSV files)")
    load.add_argument("file")
    load.add_argument("--region", help="region code, e.g. JZ14 (default: the file's)")
    load.add_argument("--dry-run", action="store_true", help="check and report, change nothing")
    load.set_defaults(func=cmd_register_import)

    users = sub.add_parser("users", help="accounts of people: create, deactivate, second factor").add_subparsers(
        dest="users_command", required=True
    )
    create = users.add_parser("create", help="create a user (password on standard input)")
    create.add_argument("--username", required=True)
    create.add_argument("--role", required=True, choices=["admin", "coordinator", "provider", "crisis", "viewer"])
    create.add_argument("--provider", type=int)
    create.add_argument("--region", help="region code, e.g. JZ14")
    create.set_defaults(func=cmd_users_create)
    deactivate = users.add_parser("deactivate", help="deactivate a user and end all their sessions")
    deactivate.add_argument("username")
    deactivate.set_defaults(func=cmd_users_deactivate)
    reset_mfa = users.add_parser("reset-mfa", help="remove a user's second factor (lost phone and recovery codes)")
    reset_mfa.add_argument("username")
    reset_mfa.set_defaults(func=cmd_users_reset_mfa)
    users.add_parser(
        "new-totp-key", help="print a new key for PLEKWIJZER_TOTP_ENCRYPTION_KEYS (TOTP secrets at rest)"
    ).set_defaults(func=cmd_users_new_totp_key)
    users.add_parser(
        "rotate-totp-key", help="encrypt every TOTP secret under the first key of PLEKWIJZER_TOTP_ENCRYPTION_KEYS"
    ).set_defaults(func=cmd_users_rotate_totp_key)

    keys = sub.add_parser("api-keys", help="API keys of provider systems: create, revoke").add_subparsers(
        dest="keys_command", required=True
    )
    key = keys.add_parser("create", help="create an API key for a provider system")
    key.add_argument("--provider", type=int, required=True)
    key.add_argument("--name", default="")
    key.set_defaults(func=cmd_api_keys_create)
    revoke = keys.add_parser("revoke", help="revoke an API key (refused at once by every server)")
    revoke.add_argument("id", type=int)
    revoke.set_defaults(func=cmd_api_keys_revoke)

    audit = sub.add_parser("audit", help="the audit log (NEN 7513)").add_subparsers(dest="audit_command", required=True)
    audit.add_parser(
        "verify", help="check the hash chain: OK, or the first changed, removed or inserted row"
    ).set_defaults(func=cmd_audit_verify)
    audit.add_parser("seal", help="seal the settled rows now (the server does it every few seconds)").set_defaults(
        func=cmd_audit_seal
    )
    audit.add_parser("retain", help="remove sealed rows older than PLEKWIJZER_AUDIT_RETENTION_DAYS").set_defaults(
        func=cmd_audit_retain
    )
    out = audit.add_parser("export", help="write the log (.csv or .xlsx) for the privacy officer; the export is logged")
    out.add_argument("file")
    out.add_argument("--youth-record", help="e.g. referral:12")
    out.add_argument("--actor", help="username")
    out.add_argument("--start", type=date.fromisoformat, help="first day (YYYY-MM-DD)")
    out.add_argument("--end", type=date.fromisoformat, help="last day (YYYY-MM-DD)")
    out.set_defaults(func=cmd_audit_export)

    availability = sub.add_parser(
        "availability", help="free places through a running server (PLEKWIJZER_URL, PLEKWIJZER_API_KEY or _TOKEN)"
    ).add_subparsers(dest="av_command", required=True)
    av_help = {"set": "report a group's free places (and whether it admits)", "show": "list the groups' free places"}
    for name in ("set", "show"):
        p = availability.add_parser(name, help=av_help[name])
        p.add_argument("--url", help="the server (default PLEKWIJZER_URL or http://127.0.0.1:8000)")
        p.add_argument("--username", help="log in as this user (password on standard input) instead of a key")
        if name == "set":
            p.add_argument("group_id", type=int)
            p.add_argument("--free", type=int, required=True)
            p.add_argument("--not-admitting", metavar="REASON")
            p.set_defaults(func=cmd_availability_set)
        else:
            p.add_argument("--care-form")
            p.set_defaults(func=cmd_availability_show)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except DomainError as exc:
        print(f"Fout: {exc.message}", file=sys.stderr)
        return 1
    except PlekwijzerError as exc:  # the client's server errors carry a Dutch message too
        print(f"Fout ({exc.status_code}): {exc.detail}", file=sys.stderr)
        return 1
    except ValidationError as exc:  # the settings were refused; the messages never hold a value
        if exc.title != "Settings":
            raise
        reasons = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        print(f"Instellingen geweigerd: {reasons}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
