"""lockversion: a second token, renewed when a PIN lock-out starts or ends

Revision ID: 0013_lockversion
Revises: 0012_twoperson
Create Date: 2026-12-02 17:00:00

Every incoming call asks whether its caller or number is locked. Webhook processes keep a
copy of the lock-out times they have read, valid while this token is the same (read in the
same statement as the directory's): row 2 of directory_version, renewed by triggers only
when a bucket's locked_until changes, so counting wrong tries or a PIN step's no-op lock of
its rows leaves it alone. The directory's own triggers now renew row 1 only (they renewed
every row); a directory write then never takes the lock-out row's lock, and a PIN step
never takes the directory row's.
"""

from alembic import op

revision = "0013_lockversion"
down_revision = "0012_twoperson"
branch_labels = None
depends_on = None

DIRECTORY_TABLES = ("hotlines", "callers", "caller_phones", "people", "policies", "policy_steps",
                    "rotas", "layers", "layer_versions", "overrides")
# When a bucket's lock changes, per action (PostgreSQL's IS DISTINCT FROM is SQLite's IS NOT).
LOCK_CHANGES = {"INSERT": "NEW.locked_until IS NOT NULL",
                "UPDATE": "OLD.locked_until IS DISTINCT FROM NEW.locked_until",
                "DELETE": "OLD.locked_until IS NOT NULL"}


def upgrade() -> None:
    op.execute("INSERT INTO directory_version (id, token) VALUES (2, 1)")
    if op.get_bind().dialect.name == "postgresql":
        _directory_function("WHERE id = 1")
        op.execute("CREATE FUNCTION lock_version_renew() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   "BEGIN UPDATE directory_version SET token = floor(random() * 9e18)::bigint "
                   "WHERE id = 2; RETURN NULL; END $$")
        for action, changed in LOCK_CHANGES.items():
            op.execute(f"CREATE TRIGGER lock_version_{action.lower()} AFTER {action} ON pin_lockouts "
                       f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION lock_version_renew()")
        op.execute("CREATE TRIGGER lock_version_truncate AFTER TRUNCATE ON pin_lockouts "
                   "FOR EACH STATEMENT EXECUTE FUNCTION lock_version_renew()")
        return
    _sqlite_directory_triggers("WHERE id = 1")
    for action, changed in LOCK_CHANGES.items():
        changed = changed.replace("IS DISTINCT FROM", "IS NOT")
        op.execute(f"CREATE TRIGGER lock_version_{action.lower()} AFTER {action} ON pin_lockouts "
                   f"WHEN {changed} BEGIN UPDATE directory_version SET token = random() "
                   "WHERE id = 2; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for action in (*LOCK_CHANGES, "TRUNCATE"):
            op.execute(f"DROP TRIGGER lock_version_{action.lower()} ON pin_lockouts")
        op.execute("DROP FUNCTION lock_version_renew()")
        _directory_function("")
    else:
        for action in LOCK_CHANGES:
            op.execute(f"DROP TRIGGER lock_version_{action.lower()}")
        _sqlite_directory_triggers("")
    op.execute("DELETE FROM directory_version WHERE id = 2")


def _directory_function(where: str) -> None:
    op.execute("CREATE OR REPLACE FUNCTION directory_version_renew() RETURNS trigger "
               "LANGUAGE plpgsql AS $$ BEGIN UPDATE directory_version "
               f"SET token = floor(random() * 9e18)::bigint {where}; RETURN NULL; END $$")


def _sqlite_directory_triggers(where: str) -> None:
    for table in DIRECTORY_TABLES:
        for action in ("INSERT", "UPDATE", "DELETE"):
            name = f"directory_version_{table}_{action.lower()}"
            op.execute(f"DROP TRIGGER {name}")
            op.execute(f"CREATE TRIGGER {name} BEFORE {action} ON {table} "
                       f"BEGIN UPDATE directory_version SET token = random() {where}; END")
