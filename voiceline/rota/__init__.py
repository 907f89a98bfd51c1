"""Pure rota engine: who is on duty when, with no Flask, Twilio or database imports."""

from .edit import UNCHANGED, edit_layer, restamp_layer, shift_end
from .model import (
    Gap,
    Layer,
    LayerVersion,
    OnDuty,
    Override,
    Period,
    Policy,
    PolicyStep,
    ResolvedStep,
    Rota,
    Segment,
    Unit,
    Window,
    load_zone,
)
from .policy import policy_gaps, real_bounds, resolve_policy
from .query import CompiledRota, compile_rota, gaps, on_duty, shifts

__all__ = [
    "UNCHANGED",
    "CompiledRota",
    "Gap",
    "Layer",
    "LayerVersion",
    "OnDuty",
    "Override",
    "Period",
    "Policy",
    "PolicyStep",
    "ResolvedStep",
    "Rota",
    "Segment",
    "Unit",
    "Window",
    "compile_rota",
    "edit_layer",
    "gaps",
    "load_zone",
    "on_duty",
    "policy_gaps",
    "real_bounds",
    "restamp_layer",
    "resolve_policy",
    "shift_end",
    "shifts",
]
