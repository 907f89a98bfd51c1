"""`voiceline scheduler` with Twilio's REST API faked, run as its own process by test_standby.py.

Settings come from the environment as usual; FAKE_TWILIO_LOG names a file where every request
is written twice, "begin" when it is made and "accepted" when Twilio would have taken it
(FAKE_TWILIO_DELAY seconds later), each line with this process's pid, the message body and the time.
"""

from __future__ import annotations

import json
import os
import sys
import time

from twilio.http import HttpClient
from twilio.http.response import Response

from voiceline import create_app


class RecordingTwilio(HttpClient):
    def __init__(self, path: str, delay: float) -> None:
        super().__init__(logger=None, is_async=False)
        self.path, self.delay, self.count = path, delay, 0

    def _write(self, what: str, body: str) -> None:
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(json.dumps({"what": what, "pid": os.getpid(), "body": body,
                                  "time": time.time()}) + "\n")
            out.flush()
            os.fsync(out.fileno())

    def request(self, method, uri, params=None, data=None, headers=None, auth=None,
                timeout=None, allow_redirects=False):
        self.count += 1
        body = (data or {}).get("Body", "")
        self._write("begin", body)
        time.sleep(self.delay)
        self._write("accepted", body)
        sid = f"SM{os.getpid():016d}{self.count:016d}"
        return Response(201, json.dumps({"sid": sid, "status": "queued"}))


if __name__ == "__main__":
    fake = RecordingTwilio(os.environ["FAKE_TWILIO_LOG"], float(os.environ.get("FAKE_TWILIO_DELAY", "0.3")))
    app = create_app({"TWILIO_HTTP_CLIENT": fake})
    result = app.test_cli_runner().invoke(args=["scheduler"])  # the real command, lock check included
    sys.stdout.write(result.output)
    sys.exit(result.exit_code)
