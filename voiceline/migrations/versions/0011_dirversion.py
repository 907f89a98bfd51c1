"""dirversion: a token the database renews on every write to the directory and the rotas

Revision ID: 0011_dirversion
Revises: 0010_history
Create Date: 2026-12-02 06:00:00

Webhooks keep a per-process copy of the hotline, caller, person, policy and rota rows they
read and check this token (one cheap read) instead of reading the rows again. Triggers, not application code,
renew it, so no write path can forget to: the UI, the API, an import, a SQL shell. The
triggers run BEFORE each statement, so a transaction takes the token's row lock before any
directory row lock (no deadlock between two writers of both).
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_dirversion"
down_revision = "0010_history"
branch_labels = None
depends_on = None

TABLES = ("hotlines", "callers", "caller_phones", "people", "policies", "policy_steps", "rotas",
          "layers", "layer_versions", "overrides")


def upgrade() -> None:
    op.create_table(
        "directory_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_version")),
    )
    op.execute("INSERT INTO directory_version (id, token) VALUES (1, 1)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE FUNCTION directory_version_renew() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   "BEGIN UPDATE directory_version SET token = floor(random() * 9e18)::bigint; "
                   "RETURN NULL; END $$")
        for table in TABLES:
            op.execute(f"CREATE TRIGGER directory_version_{table} BEFORE INSERT OR UPDATE OR DELETE "
                       f"OR TRUNCATE ON {table} FOR EACH STATEMENT "
                       "EXECUTE FUNCTION directory_version_renew()")
        return
    for table in TABLES:  # SQLite: row triggers only (and one writer at a time anyway)
        for action in ("INSERT", "UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER directory_version_{table}_{action.lower()} BEFORE {action} "
                       f"ON {table} BEGIN UPDATE directory_version SET token = random(); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER directory_version_{table} ON {table}")
        op.execute("DROP FUNCTION directory_version_renew()")
    else:
        for table in TABLES:
            for action in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER directory_version_{table}_{action}")
    op.drop_table("directory_version")
