"""Small builders for engine values, shared by the rota engine tests."""

from datetime import UTC, datetime

from voiceline.rota import Layer, LayerVersion, Period, Rota


def utc(*args: int) -> datetime:
    """An aware UTC instant."""
    return datetime(*args, tzinfo=UTC)


def version(members, anchor=datetime(2026, 1, 5), every="1d", windows=(), **kw) -> LayerVersion:
    """A layer version anchored (by default) on Monday 2026-01-05 00:00 local."""
    return LayerVersion(tuple(members), anchor, Period.parse(every), tuple(windows), **kw)


def layer(members, priority=0, lid="l", **kw) -> Layer:
    """A one-version layer."""
    return Layer(lid, priority, (version(members, **kw),))


def rota(*layers, overrides=(), zone="UTC", rid="r") -> Rota:
    """A rota of the given layers and overrides."""
    return Rota(rid, zone, tuple(layers), tuple(overrides))
