"""API: the two-person rule's proposals of a rota: list them (with what each would do to who
is on duty if approved now), approve, reject, withdraw (oncall/proposals.py)."""

from __future__ import annotations

from flask import current_app, jsonify, request

from voiceline import models as m
from voiceline.appdb import db_session
from voiceline.instants import utcnow
from voiceline.oncall import proposals as rule

from . import schemas as s
from .base import MANAGERS, ApiError, actor, api
from .spec import Param

PROPOSED = (202, "Accepted as a proposal: the rota has the two-person rule, nothing changes "
                 "until another rota manager or an admin approves it", s.PROPOSAL)


def context() -> rule.Context:
    """This request's actor, clock and settings for the rule."""
    return rule.Context(actor(), utcnow(), "api", current_app.config.get("DEFAULT_REGION", "US"),
                        int(current_app.config.get("CHANGE_NOTICE_DAYS") or 0))


def propose(rota: m.Rota | None, kind: str, edit: dict, summary: str):
    """A 202 with the proposal and its preview when the rota has the two-person rule (stored
    and committed); None when the route should write the edit itself."""
    if rota is None:
        return None
    session = db_session()
    proposal = rule.gate(session, rota, kind, edit, summary, context())
    if proposal is None:
        return None
    session.commit()
    ctx = context()
    return jsonify(rule.proposal_json(proposal, rule.preview(session, proposal, ctx))), 202


def _rota_or_404(rid: str) -> m.Rota:
    rota = db_session().get(m.Rota, rid)
    if rota is None:
        raise ApiError(404, f"no rota {rid!r}")
    return rota


@api.route("/rotas/<rid>/proposals", "GET", summary="The rota's proposals under the two-person "
           "rule; open ones with what they would do to who is on duty if approved now",
           roles=MANAGERS, tag="rota", errors=(400,),
           query=(Param("status", "comma-separated: open (default), approved, rejected, "
                        "withdrawn, stale"),),
           response={"type": "array", "items": s.PROPOSAL})
def list_proposals(rid: str):
    _rota_or_404(rid)
    session = db_session()
    statuses = tuple(x.strip() for x in (request.args.get("status") or "open").split(",") if x.strip())
    bad = [x for x in statuses if x not in rule.STATUSES]
    if bad:
        raise ApiError(400, f"status: {bad[0]!r} is not one of {', '.join(rule.STATUSES)}")
    ctx = context()
    rows = rule.proposals(session, rid, statuses)
    return jsonify([rule.proposal_json(p, rule.preview(session, p, ctx) if p.status == rule.OPEN
                                       else None) for p in rows])


def _decide(rid: str, pid: int, what: str):
    _rota_or_404(rid)
    session = db_session()
    ctx = context()
    try:
        if what == "approve":
            proposal = rule.approve(session, rid, pid, ctx)
        elif what == "reject":
            body = request.get_json(silent=True) or {}
            reason = body.get("reason", "") if isinstance(body, dict) else ""
            proposal = rule.reject(session, rid, pid, ctx, reason if isinstance(reason, str) else "")
        else:
            proposal = rule.withdraw(session, rid, pid, ctx)
    except LookupError:
        session.rollback()
        raise ApiError(404, f"no proposal {pid} of rota {rid!r}") from None
    except rule.NotAllowed as exc:
        session.rollback()
        raise ApiError(403, str(exc)) from None
    except rule.NotOpen as exc:
        session.rollback()
        raise ApiError(409, str(exc)) from None
    except rule.EditRefused as exc:
        raise ApiError(409, f"proposal {pid} no longer applies and is marked stale; nothing of "
                            "it was written", exc.problems) from None
    return jsonify(rule.proposal_json(proposal))


@api.route("/rotas/<rid>/proposals/<int:proposal_id>/approve", "POST", summary="Approve a proposal: "
           "its edit is checked again and applied under the rota's lock (not by its proposer, "
           "403; one that no longer applies is marked stale, 409)", roles=MANAGERS, tag="rota",
           response=s.PROPOSAL, errors=(403, 409))
def approve_proposal(rid: str, proposal_id: int):
    return _decide(rid, proposal_id, "approve")


@api.route("/rotas/<rid>/proposals/<int:proposal_id>/reject", "POST", summary="Reject a proposal "
           "(optional JSON body `{\"reason\": ...}`; not by its proposer, who withdraws it)", roles=MANAGERS,
           tag="rota", response=s.PROPOSAL, errors=(403, 409))
def reject_proposal(rid: str, proposal_id: int):
    return _decide(rid, proposal_id, "reject")


@api.route("/rotas/<rid>/proposals/<int:proposal_id>/withdraw", "POST", summary="The proposer "
           "withdraws their proposal", roles=MANAGERS, tag="rota", response=s.PROPOSAL,
           errors=(403, 409))
def withdraw_proposal(rid: str, proposal_id: int):
    return _decide(rid, proposal_id, "withdraw")
