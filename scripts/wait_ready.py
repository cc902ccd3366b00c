"""Wait until PharmaCRM's /healthz says the database and the worker are ok (at most a minute).

    python scripts/wait_ready.py http://127.0.0.1:8000/healthz

Exit 0 when ready; 1 with the last answer on stderr after the minute. Standard library only: it runs before,
and beside, the app.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request

TIMEOUT_SECONDS = 60


def main(url: str) -> int:
    deadline = time.monotonic() + TIMEOUT_SECONDS
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 — our own loopback address
                body = json.loads(response.read())
        except (OSError, ValueError) as error:
            last = str(error)
        else:
            if body.get("status") == "ok":
                return 0
            last = json.dumps(body)
        time.sleep(0.2)
    sys.stderr.write(f"PharmaCRM is not ready after {TIMEOUT_SECONDS} s: {last}\n")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
