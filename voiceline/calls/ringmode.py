"""How a policy rings: dial mode (the default) or conference mode, and when conference is served.

Conference mode places the responders' calls through Twilio's REST API, which needs the
account's credentials; without them a conference policy is served in dial mode, and /healthz,
`voiceline twilio check`, the startup log and the policy page say so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from voiceline.models.rota import Policy

DIAL = "dial"
CONFERENCE = "conference"
RING_MODES = (DIAL, CONFERENCE)
NO_CREDENTIALS = ("conference mode needs Twilio credentials (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN): "
                  "calls of these policies ring in dial mode")


def has_rest_credentials(config: Mapping[str, Any]) -> bool:
    """Both halves of the REST credentials are configured."""
    return bool(config.get("TWILIO_ACCOUNT_SID") and config.get("TWILIO_AUTH_TOKEN"))


def served(ring: str | None, can_conference: bool) -> str:
    """The mode a policy's calls ring in now: conference only when it can be placed."""
    return CONFERENCE if ring == CONFERENCE and can_conference else DIAL


def conference_without_credentials(session: Session, config: Mapping[str, Any]) -> list[str]:
    """The ids of conference policies served in dial mode because credentials are missing."""
    if has_rest_credentials(config):
        return []
    return list(session.scalars(select(Policy.id).where(Policy.ring == CONFERENCE).order_by(Policy.id)))


def log_startup(app: Any, log: Any) -> None:
    """At startup: warn when conference policies will be served in dial mode (best effort)."""
    from voiceline import appdb

    if has_rest_credentials(app.config):
        return
    try:
        with app.app_context(), appdb.session_factory()() as session:
            policies = conference_without_credentials(session, app.config)
    except Exception:  # the database's own check reports an unusable database
        return
    if policies:
        log.warning("%s: %s", NO_CREDENTIALS, ", ".join(policies))
