"""All tables; importing this package registers every model on Base.metadata."""

from voiceline.models import calls as _calls  # noqa: F401  (the call log, owned by the call area)
from voiceline.models import jobs as _jobs  # noqa: F401  (clock work)
from voiceline.models import web as _web  # noqa: F401  (accounts, tokens, feeds)
from voiceline.models.directory import (
    CALLER_POLICIES,
    Caller,
    CallerPhone,
    DirectoryVersion,
    Hotline,
    Person,
)
from voiceline.models.rota import (
    Layer,
    LayerVersion,
    Override,
    Policy,
    PolicyStep,
    Proposal,
    Rota,
    RotaState,
    Swap,
)
from voiceline.models.shared import AuditAnchor, AuditEntry, OutboxMessage

__all__ = [
    "CALLER_POLICIES", "AuditAnchor", "AuditEntry", "Caller", "CallerPhone", "DirectoryVersion", "Hotline", "Layer", "LayerVersion",
    "OutboxMessage", "Override", "Person", "Policy", "PolicyStep", "Proposal", "Rota", "RotaState", "Swap",
]
