"""Tried on purpose: schemathesis generates requests from /api/v1/openapi.json and sends them with
each role's token through the WSGI app (no network). No answer is a 5xx and none lies outside its
documented schema.

Failures are collected (not raised inside hypothesis) so a run stays bounded: no shrinking.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from voiceline.models.web import ApiToken, User
from voiceline.passwords import hash_secret

ROLES = ("admin", "rota_manager", "reviewer", "responder")
CHECKS = [not_a_server_error, response_schema_conformance]


@pytest.fixture
def tokens(demo, session):
    """A Bearer token per role."""
    headers = {}
    for role in ROLES:
        user = User(username=f"fuzz-{role}", password_hash=hash_secret("x" * 12), role=role)
        session.add(user)
        session.flush()
        raw = secrets.token_urlsafe(32)
        session.add(ApiToken(user_id=user.id, token_hash=hashlib.sha256(raw.encode()).hexdigest(),
                             name="fuzz"))
        headers[role] = {"Authorization": f"Bearer {raw}"}
    session.commit()
    return headers


def _examples(operation, strategy, role, headers, mode, examples, checks, failures, sent):
    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case):
        sent[operation.label] += 1
        try:
            case.call_and_validate(headers=headers, checks=checks)
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis raises a FailureGroup
            for failure in getattr(exc, "exceptions", [exc]):
                text = (getattr(failure, "title", "") or str(failure)).strip()
                first = text.splitlines()[0][:120] if text else ""
                key = f"{operation.label} [{role}, {mode.value}]: {type(failure).__name__} {first}"
                detail = f"path={case.path_parameters} query={case.query}"
                if os.environ.get("VOICELINE_TEST_FUZZ_DETAIL"):
                    detail += f" body={case.body!r} -> {failure}"
                failures.setdefault(key, detail)
    run()


def run_schema(app, tokens, examples: int, checks, negative_roles=("admin", "responder")):
    """Send `examples` generated cases per operation and role (valid ones for every role, invalid
    ones for `negative_roles`); return the failures and the requests sent per operation."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures: dict[str, str] = {}
    sent: Counter = Counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode)
            for role, headers in tokens.items():
                if mode is GenerationMode.NEGATIVE and role not in negative_roles:
                    continue
                _examples(operation, strategy, role, headers, mode, examples, checks, failures, sent)
    return failures, sent


# Failures found by this test that are known and owned elsewhere, as
# (operation label, failure kind) -> why; empty now that 10.9 and 10.11 are fixed
# (tests/web/test_boundaries.py and tests/api/test_api.py hold their regressions).
KNOWN: dict[tuple[str, str], str] = {}


def _unknown(failures: dict[str, str]) -> dict[str, str]:
    def known(key: str) -> bool:
        label, _, rest = key.partition(" [")
        kind = rest.split("]: ", 1)[1].split(" ", 1)[0]
        return (label, kind) in KNOWN
    return {k: v for k, v in failures.items() if not known(k)}


def test_api_answers_stay_within_the_documented_schemas(demo, tokens, fuzz_examples):
    examples = int(os.environ.get("VOICELINE_TEST_FUZZ_EXAMPLES") or fuzz_examples(4))
    checks = CHECKS + ([status_code_conformance] if os.environ.get("VOICELINE_TEST_FUZZ_STATUS") else [])
    failures, sent = run_schema(demo, tokens, examples, checks)
    print(f"schemathesis: {sum(sent.values())} requests over {len(sent)} operations")
    assert sum(sent.values()) > 300
    unknown = _unknown(failures)
    assert unknown == {}, "\n".join(f"{k} <- {v}" for k, v in sorted(unknown.items()))
