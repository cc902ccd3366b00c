"""What every soak check shares: fresh databases, server processes, verdicts."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
DEMO_PASSWORD = "pharmacrm-demo"


@dataclass
class Verdict:
    ok: bool
    detail: str
    skipped: bool = False


@dataclass
class Check:
    number: str           # RELIABILITY.md check number(s), e.g. "22" or "28c"
    title: str
    run: Callable[[Context], Verdict]
    budget_s: int = 120   # the runner reports a check that overruns this as failed
    databases: tuple[str, ...] = ("sqlite",)  # run once per vendor listed


@dataclass
class Context:
    """Where a check runs: a scratch directory and, per vendor, how to reach a fresh database."""

    workdir: Path
    vendor: str                       # "sqlite" or "postgresql"
    postgres_admin_url: str | None    # a server where throw-away databases can be created
    log: list[str] = field(default_factory=list)
    _counter: int = 0

    def fresh_env(self, label: str, **extra: str) -> dict[str, str]:
        """Environment for manage.py / gunicorn on a new, empty database of this context's vendor."""
        self._counter += 1
        var = self.workdir / f"{label}-{self._counter}"
        var.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
        env.update(PHARMACRM_VAR_DIR=str(var), HTTPS="false", DEBUG="false", PHARMACRM_PLAIN_STATIC="1",
                   PYTHONUNBUFFERED="1", ALLOWED_HOSTS="127.0.0.1,localhost,testserver")
        if self.vendor == "postgresql":
            assert self.postgres_admin_url
            name = f"soak_{label}_{os.getpid()}_{self._counter}".lower().replace("-", "_")
            base = self.postgres_admin_url.rsplit("/", 1)[0]
            psql(self.postgres_admin_url, f'DROP DATABASE IF EXISTS "{name}"')
            psql(self.postgres_admin_url, f'CREATE DATABASE "{name}"')
            env["DATABASE_URL"] = f"{base}/{name}"
        env.update(extra)
        return env

    def manage(self, env: dict[str, str], *args: str, timeout: int = 600, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=timeout)
        if check and result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed: {result.stderr[-2000:]}")
        return result

    def migrated_env(self, label: str, *, demo: bool = False, **extra: str) -> dict[str, str]:
        env = self.fresh_env(label, **extra)
        self.manage(env, "migrate", "--no-input", "-v0")
        if demo:
            for seed in ("seed_demo", "seed_catalogue", "seed_samples", "seed_grading", "seed_engagement",
                         "seed_content", "seed_service", "seed_surveys"):
                self.manage(env, seed, "--if-empty", timeout=900)
        return env


def psql(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(env: dict[str, str], *, workers: int = 3, threads: int = 2,
             log: Path | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """Serve the app with gunicorn on a free loopback port; yields (base url, process)."""
    port = free_port()
    log = log or Path(tempfile.mkstemp(prefix="gunicorn-", suffix=".log")[1])
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "pharmacrm.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", str(workers), "--threads", str(threads), "--log-level", "warning",
             "--error-logfile", "-", "--access-logfile", "-", "--graceful-timeout", "10"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(base + "/healthz", timeout=60)
        yield base, proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wait_http(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def start_postgres(workdir: Path) -> tuple[str, Callable[[], None]] | None:
    """A throw-away PostgreSQL cluster from the Debian packages (as .ci/run starts one), or None."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not candidates:
        return None
    bindir = candidates[-1].parent
    data = Path(tempfile.mkdtemp(prefix="soak-pg-", dir="/tmp"))
    port = free_port()
    as_root = os.geteuid() == 0

    def run(cmd: str) -> None:
        full = ["su", "postgres", "-c", cmd] if as_root else ["bash", "-c", cmd]
        subprocess.run(full, check=True, capture_output=True, timeout=120)

    if as_root:
        shutil.chown(data, "postgres")
    run(f"{bindir}/initdb -D {data} -A trust -U postgres -E UTF8 --locale=C.UTF-8")
    run(f"{bindir}/pg_ctl -D {data} -o '-k /tmp -h 127.0.0.1 -p {port} -c fsync=off' -l {data}/log -w start")

    def stop() -> None:
        with contextlib.suppress(Exception):
            run(f"{bindir}/pg_ctl -D {data} -m fast stop")
        shutil.rmtree(data, ignore_errors=True)

    return f"postgres://postgres@127.0.0.1:{port}/postgres", stop
