"""Audit trail in the NEN 7513 sense: which youth records a row is about, the seals of the hash
chain, and on PostgreSQL the triggers that keep both tables append-only.

``audit_log.youth_records`` lists the youth records a row is about (",referral:12,hold:3,"), so
a privacy officer can list every access to one record. ``audit_seals`` holds one seal per
audit row (its chain hash), written by the sealing job after the row committed.

PostgreSQL: a trigger refuses UPDATE and DELETE on ``audit_log`` and ``audit_seals`` and a
statement trigger refuses TRUNCATE. The one exception is retention: a DELETE of an audit row
passes only inside a transaction that set ``plekwijzer.audit_retention_days`` (the retention
job, ``backend/audit/chain.retain``), only when that is at least 365 days, the row is older
than that and the row is sealed. See docs/security.md for why this is safe. SQLite has no such
triggers; the chain still detects every change there.

Revision ID: 0008_audit_trail
Revises: 0007_login_hardening
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_audit_trail"
down_revision = "0007_login_hardening"
branch_labels = None
depends_on = None

GUARD = """
CREATE FUNCTION audit_log_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    keep_days integer;
BEGIN
    IF TG_OP = 'DELETE' THEN
        keep_days := NULLIF(current_setting('plekwijzer.audit_retention_days', true), '')::integer;
        IF keep_days IS NOT NULL AND keep_days >= 365
           AND OLD.at < now() - make_interval(days => keep_days)
           AND EXISTS (SELECT 1 FROM audit_seals WHERE audit_id = OLD.id) THEN
            RETURN OLD;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: % of row % refused', TG_OP, OLD.id
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""

REFUSE = """
CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch_op:
        batch_op.add_column(sa.Column("youth_records", sa.Text(), nullable=True))
    op.create_table(
        "audit_seals",
        sa.Column("audit_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("audit_id"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(GUARD)
        op.execute(REFUSE)
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_guard()"
        )
        for table in ("audit_log", "audit_seals"):
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()"
            )
        op.execute(
            "CREATE TRIGGER audit_seals_append_only BEFORE UPDATE OR DELETE ON audit_seals "
            "FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_seals_append_only ON audit_seals")
        op.execute("DROP TRIGGER IF EXISTS audit_seals_no_truncate ON audit_seals")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_refuse_change()")
        op.execute("DROP FUNCTION IF EXISTS audit_log_guard()")
    op.drop_table("audit_seals")
    with op.batch_alter_table("audit_log") as batch_op:
        batch_op.drop_column("youth_records")
