"""Directory: responders (people), callers (officials) and hotlines."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from voiceline.db import Base, UTCDateTime
from voiceline.instants import utcnow

CALLER_POLICIES = ("allowlist", "pin", "open")
PERSON_ROLES = ("manager", "supervisor")


class Person(Base):
    """A responder who can be on duty and is rung."""

    __tablename__ = "people"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(20))  # E.164
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    timezone: Mapped[str | None] = mapped_column(String(64))
    reminder_minutes: Mapped[int | None] = mapped_column()  # pre-shift reminder, None = none
    # "manager": coverage, reachability, line-test and voicemail alerts; "supervisor": duress alerts
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Caller(Base):
    """An official allowed to use the hotline; PINs are keyed hashes (voiceline/pins.py)."""

    __tablename__ = "callers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    org: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str | None] = mapped_column(String(16))  # e.g. ru-RU
    pin_hash: Mapped[str | None] = mapped_column(String(200))
    duress_pin_hash: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    phones: Mapped[list[CallerPhone]] = relationship(
        back_populates="caller", cascade="all, delete-orphan", order_by="CallerPhone.position"
    )

    @property
    def numbers(self) -> list[str]:
        """The caller's numbers in E.164, in file order."""
        return [phone.number for phone in self.phones]


class CallerPhone(Base):
    """One number of a caller; a number belongs to at most one caller."""

    __tablename__ = "caller_phones"

    id: Mapped[int] = mapped_column(primary_key=True)
    caller_id: Mapped[str] = mapped_column(ForeignKey("callers.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    position: Mapped[int] = mapped_column(default=0)

    caller: Mapped[Caller] = relationship(back_populates="phones")


class Hotline(Base):
    """A dialled number: its escalation policy, languages and caller policy."""

    __tablename__ = "hotlines"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"))
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)  # e.g. ["en-US", "ru-RU"]
    caller_policy: Mapped[str] = mapped_column(String(16), default="pin")
    ask_priority: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class DirectoryVersion(Base):
    """One row: a token that database triggers give a new random value on every write to the
    directory and rota tables (hotlines, callers, caller_phones, people, policies,
    policy_steps, rotas, layers, layer_versions, overrides), whoever writes: the UI, the API,
    an import, a SQL shell. Webhooks keep a per-process copy of the rows they read and trust
    it only while the token they read first in their transaction is the one it was taken
    under (voiceline/directory.py). Row 2 is the same for PIN lock-outs: renewed when a
    bucket's locked_until changes (voiceline/calls/auth.py keeps a copy of lock-out times)."""

    __tablename__ = "directory_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[int] = mapped_column(BigInteger, default=0)
