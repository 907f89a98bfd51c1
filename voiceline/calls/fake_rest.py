"""Twilio's REST API without a network, for simulate, the bench and the tests: records each
request (with the instant it was made) and answers like Twilio, or from a script of failures."""

from __future__ import annotations

import json
import threading
import time
import uuid
from urllib.parse import urlparse

from twilio.http import HttpClient
from twilio.http.response import Response

ACCOUNT_SID = "AC" + "0" * 30 + "01"


class FakeRest(HttpClient):
    """A twilio HttpClient: calls.create answers a new CallSid, calls(sid).update echoes it."""

    def __init__(self, unique_sids: bool = False) -> None:
        super().__init__(logger=None, is_async=False)
        self.requests: list[dict] = []
        self.script: list[tuple[int, dict]] = []  # answers for the next calls.create, consumed first
        self._lock = threading.Lock()
        self._count = 0
        # unique_sids: CallSids unique across instances, as Twilio's are (simulate plays call
        # after call into one database, where a counter from 1 would hand out a stored leg's
        # sid); without it the sids count from 1, as the recorded fixtures expect.
        self._prefix = uuid.uuid4().hex[:8] if unique_sids else ""

    def request(self, method, uri, params=None, data=None, headers=None, auth=None, timeout=None,
                allow_redirects=False):
        """Record the request; answer it."""
        path = urlparse(uri).path
        with self._lock:
            self._count += 1
            self.requests.append({"method": method, "path": path, "data": dict(data or {}),
                                  "at": time.monotonic()})
            if path.endswith("/Calls.json"):
                if self.script:
                    status, body = self.script.pop(0)
                    return Response(status, json.dumps(body))
                sid = f"CA{self._prefix}{self._count:0{32 - len(self._prefix)}d}"
                self.requests[-1]["sid"] = sid
                return Response(201, json.dumps({"sid": sid, "status": "queued",
                                                 "account_sid": ACCOUNT_SID}))
            sid = path.rsplit("/", 1)[-1].removesuffix(".json")
            return Response(200, json.dumps({"sid": sid, "account_sid": ACCOUNT_SID,
                                             "status": (data or {}).get("Status", "in-progress")}))

    def created(self) -> list[dict]:
        """The data of each calls.create that succeeded-or-not, in order."""
        return [r["data"] for r in self.requests if r["path"].endswith("/Calls.json")]

    def placed(self) -> list[tuple[str, dict]]:
        """(CallSid, data) of each calls.create Twilio accepted, in order."""
        return [(r["sid"], r["data"]) for r in self.requests if r.get("sid")]

    def updates(self) -> list[tuple[str, dict]]:
        """(CallSid, data) of each calls(sid).update."""
        return [(r["path"].rsplit("/", 1)[-1].removesuffix(".json"), r["data"])
                for r in self.requests if not r["path"].endswith("/Calls.json")]
