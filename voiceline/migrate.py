"""Schema migrations with Alembic, driven from code (no alembic.ini needed)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import NullPool

SCRIPT_LOCATION = str(Path(__file__).parent / "migrations")


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at voiceline's migrations and `url`."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    """The newest migration's revision id."""
    head = ScriptDirectory(SCRIPT_LOCATION).get_current_head()
    assert head is not None  # the package ships its migrations
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> bool:
    """Migrate the database to `revision`; return True when anything was applied."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    if engine.dialect.name == "postgresql":
        # A migration may take as long as it needs: its own connection carries no statement or
        # lock timeout from the first statement on (even the dialect's set-up queries, which a
        # loaded machine can push past a short request timeout).
        engine = create_engine(engine.url, poolclass=NullPool,
                               connect_args={"options": "-c statement_timeout=0 -c lock_timeout=0"})
    try:
        with engine.begin() as conn:
            if revision == "head" and \
                    MigrationContext.configure(conn).get_current_revision() == head_revision():
                return False
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
        return True
    finally:
        if engine.dialect.name == "postgresql":
            engine.dispose()
