"""The two-person rule in the UI: an edit of a rota with the rule is stored as a proposal
(oncall/proposals.py); the rota's Proposals page lists them with what each would do to who
is on duty, and another rota manager or an admin approves or rejects them."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for

from voiceline import appdb
from voiceline import models as m
from voiceline.instants import utcnow
from voiceline.oncall import proposals as rule
from voiceline.web.auth import actor, role_required
from voiceline.web.rota.common import bp, people, rota_or_404
from voiceline.web.timefmt import viewer_zone

MANAGE = ("rota_manager",)


def context() -> rule.Context:
    """This request's actor, clock and settings for the rule."""
    return rule.Context(actor(), utcnow(), "web", current_app.config.get("DEFAULT_REGION", "US"),
                        int(current_app.config.get("CHANGE_NOTICE_DAYS") or 0))


def propose(rota: m.Rota, kind: str, edit: dict, summary: str):
    """A redirect to the rota's proposals when the rota has the two-person rule (the edit is
    stored as a proposal and committed); None when the view should write the edit itself."""
    db = appdb.db_session()
    proposal = rule.gate(db, rota, kind, edit, summary, context())
    if proposal is None:
        return None
    rota_id = rota.id
    db.commit()
    flash(f"Proposed (two-person rule): nothing changes until another rota manager or an admin "
          f"approves proposal {proposal.id}.")
    return redirect(url_for("rota.proposals", rota_id=rota_id))


@bp.get("/<rota_id>/proposals", endpoint="proposals")
@role_required(*MANAGE)
def proposals_page(rota_id: str):
    """The rota's open proposals, each with its effect on who is on duty if approved now."""
    rota_or_404(rota_id)
    db = appdb.db_session()
    ctx = context()
    # Each preview replays its edit in a transaction thrown away (before anything is shown).
    waiting = [(p, rule.preview(db, p, ctx)) for p in rule.proposals(db, rota_id)]
    row = rota_or_404(rota_id)
    decided = rule.proposals(db, rota_id, tuple(s for s in rule.STATUSES if s != rule.OPEN))
    return render_template(
        "rota/proposals.html", rota=row, zone=viewer_zone(row.timezone),
        open=waiting,
        decided=list(reversed(decided))[:20], me=ctx.actor,
        names={pid: p.name for pid, p in people().items()})


def _decide(rota_id: str, proposal_id: int, what: str):
    rota_or_404(rota_id)
    db = appdb.db_session()
    ctx = context()
    try:
        if what == "approve":
            rule.approve(db, rota_id, proposal_id, ctx)
            flash(f"Proposal {proposal_id} approved: the change is in effect.")
        elif what == "reject":
            rule.reject(db, rota_id, proposal_id, ctx, request.form.get("reason", ""))
            flash(f"Proposal {proposal_id} rejected; the rota stays as it was.")
        else:
            rule.withdraw(db, rota_id, proposal_id, ctx)
            flash(f"Proposal {proposal_id} withdrawn.")
    except LookupError:
        db.rollback()
        abort(404)
    except (rule.NotAllowed, rule.NotOpen) as exc:
        db.rollback()
        flash(f"Not done: {exc}.", "error")
    except rule.EditRefused as exc:
        flash(f"Not approved: proposal {proposal_id} no longer applies ({exc}); it is marked "
              "stale and nothing of it was written.", "error")
    return redirect(url_for("rota.proposals", rota_id=rota_id))


@bp.post("/<rota_id>/proposals/<int:proposal_id>/approve", endpoint="approve_proposal")
@role_required(*MANAGE)
def approve_proposal(rota_id: str, proposal_id: int):
    """Apply a proposal (another person than its proposer)."""
    return _decide(rota_id, proposal_id, "approve")


@bp.post("/<rota_id>/proposals/<int:proposal_id>/reject", endpoint="reject_proposal")
@role_required(*MANAGE)
def reject_proposal(rota_id: str, proposal_id: int):
    """Refuse a proposal, with an optional reason."""
    return _decide(rota_id, proposal_id, "reject")


@bp.post("/<rota_id>/proposals/<int:proposal_id>/withdraw", endpoint="withdraw_proposal")
@role_required(*MANAGE)
def withdraw_proposal(rota_id: str, proposal_id: int):
    """The proposer takes a proposal back."""
    return _decide(rota_id, proposal_id, "withdraw")
