"""make run's server: the address is printed once the site and the worker are up, and a TERM to the script (what
make sends its recipe when it is stopped) takes gunicorn and the worker down with it — no orphan worker."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow  # starts gunicorn and the worker
@pytest.mark.django_db
def test_serve_is_healthy_from_the_first_request_and_stops_as_one(tmp_path: Path, django_db_setup: Any) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the server runs on a copy of the migrated SQLite template")
    database = tmp_path / "serve.sqlite3"
    shutil.copyfile(django_db_setup.template, database)  # the migrated template
    port = _free_port()
    env = {**os.environ, "PHARMACRM_VAR_DIR": str(tmp_path / "var"), "DATABASE_URL": f"sqlite:///{database}",
           "PHARMACRM_PLAIN_STATIC": "1", "WEB_CONCURRENCY": "1", "HTTPS": "false"}
    server = subprocess.Popen([str(ROOT / "scripts" / "serve.sh"), str(port)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in server.stdout], daemon=True).start()
    try:
        deadline = time.monotonic() + 90
        line = ""
        while not line.startswith("→ serving at"):
            line = lines.get(timeout=max(deadline - time.monotonic(), 0.1))  # queue.Empty: not serving after 90 s
        assert line.strip() == f"→ serving at http://127.0.0.1:{port} (stop with Ctrl-C)"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            assert json.loads(response.read())["worker"] == "ok"
        server.send_signal(signal.SIGTERM)  # to the script alone, as make does
        server.wait(timeout=30)
        time.sleep(0.5)
        with pytest.raises(ProcessLookupError):  # nothing of the group is left: not gunicorn, not the worker
            os.killpg(server.pid, 0)
    finally:
        try:
            os.killpg(server.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
