"""What every soak check shares: fresh databases, server processes, verdicts."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import shutil
import signal
import socket
import sqlite3
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
_SERIAL = itertools.count(1)


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
        self._counter = next(_SERIAL)
        var = self.workdir / f"{label}-{self._counter}"
        var.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
        env.update(PHARMACRM_VAR_DIR=str(var), HTTPS="false", DEBUG="false", PHARMACRM_PLAIN_STATIC="1",
                   PYTHONUNBUFFERED="1", ALLOWED_HOSTS="127.0.0.1,localhost,testserver", REQUIRE_ADMIN_2FA="false",
                   # one set of keys for a database and its clones and restores: the personal-data key opens the
                   # sealed mobiles and resident IDs (a clone under another key answers 500 on every contact page)
                   SECRET_KEY="soak-only-" + "k" * 50,
                   PERSONAL_DATA_KEY="c29hay1vbmx5LXBlcnNvbmFsLWRhdGEta2V5LTAwMzI=",
                   DJANGO_SETTINGS_MODULE="pharmacrm.settings")
        if self.vendor == "postgresql":
            assert self.postgres_admin_url
            name = f"soak_{label}_{os.getpid()}_{self._counter}".lower().replace("-", "_")
            base = self.postgres_admin_url.rsplit("/", 1)[0]
            psql(self.postgres_admin_url, f'DROP DATABASE IF EXISTS "{name}"')
            psql(self.postgres_admin_url, f'CREATE DATABASE "{name}"')
            _CREATED_DATABASES.append((self.postgres_admin_url, name))
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
        """A fresh database, migrated (and seeded with the demo data when ``demo``).

        Migrating and seeding take a minute on two cores, so each vendor's result is built once per soak
        run and cloned for every check (SQLite: the online backup API; PostgreSQL: CREATE DATABASE … TEMPLATE).
        """
        template = _template(self, "demo" if demo else "migrated")
        env = self.fresh_env(label, **extra)
        if self.vendor == "sqlite":
            target = Path(env["PHARMACRM_VAR_DIR"]) / "pharmacrm.sqlite3"
            source = sqlite3.connect(template["db"])
            copy = sqlite3.connect(target)
            with copy:
                source.backup(copy)
            copy.execute("PRAGMA journal_mode=WAL")
            copy.close()
            source.close()
            uploads = Path(template["var"]) / "uploads"
            if uploads.exists():
                shutil.copytree(uploads, Path(env["PHARMACRM_VAR_DIR"]) / "uploads", dirs_exist_ok=True)
        else:
            name = env["DATABASE_URL"].rsplit("/", 1)[1]
            assert self.postgres_admin_url
            psql(self.postgres_admin_url, f'DROP DATABASE IF EXISTS "{name}"')
            psql(self.postgres_admin_url, f'CREATE DATABASE "{name}" TEMPLATE "{template["db"]}"')
        return env

    def build_env(self, label: str, *, demo: bool, **extra: str) -> dict[str, str]:
        """Migrate (and seed) a new database the slow way; used once per run for the templates."""
        env = self.fresh_env(label, **extra)
        self.manage(env, "migrate", "--no-input", "-v0")
        if demo:
            for seed in DEMO_SEEDS:
                self.manage(env, seed, "--if-empty", timeout=900)
        return env

    def worker(self, env: dict[str, str], task: str, timeout: int = 600, **args: object) -> dict:
        """Run ``soak.worker`` TASK in a new process on ``env``'s database; returns its JSON result."""
        proc = self.spawn(env, task, **args)
        out, err = proc.communicate(timeout=timeout)
        return worker_result(proc, out, err)

    def spawn(self, env: dict[str, str], task: str, **args: object) -> subprocess.Popen:
        return subprocess.Popen([PYTHON, "-m", "soak.worker", task, json.dumps(args)], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


DEMO_SEEDS = ("seed_demo", "seed_catalogue", "seed_samples", "seed_grading", "seed_engagement", "seed_content",
              "seed_service", "seed_surveys")
_TEMPLATES: dict[tuple[str, str], dict[str, str]] = {}
_CREATED_DATABASES: list[tuple[str, str]] = []  # (admin url, name), dropped when the run ends


#: seeded databases kept between soak runs (var/soak-cache), keyed by the code that builds them
CACHE_DIR = ROOT / "var" / "soak-cache"
#: seconds spent building templates, which the runner does not count against a check's budget
TEMPLATE_SECONDS = [0.0]


def _source_key(kind: str) -> str:
    """A hash of everything that shapes a migrated/seeded database: migrations and seeding commands."""
    digest = hashlib.sha256(kind.encode())
    for path in sorted((ROOT / "pharmacrm").glob("*/migrations/*.py")) + sorted(
            (ROOT / "pharmacrm").glob("*/management/**/*.py")) + sorted((ROOT / "pharmacrm").glob("*/seeds*.py")) + [
            ROOT / "soak" / "core.py"]:  # the keys the databases are written with
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _template(context: Context, kind: str) -> dict[str, str]:
    """The migrated (or demo) database of this vendor, built once per code version and cached on disk."""
    key = (context.vendor, kind)
    if key in _TEMPLATES:
        return _TEMPLATES[key]
    t0 = time.monotonic()
    builder = Context(workdir=context.workdir.parent / f"template-{kind}-{context.vendor}", vendor=context.vendor,
                      postgres_admin_url=context.postgres_admin_url)
    builder.workdir.mkdir(parents=True, exist_ok=True)
    cached = CACHE_DIR / f"{kind}-{_source_key(kind)}.{'sqlite3' if context.vendor == 'sqlite' else 'dump'}"
    if cached.exists():
        env = builder.fresh_env(f"template_{kind}")
        if context.vendor == "sqlite":
            with contextlib.closing(sqlite3.connect(cached)) as source, \
                    contextlib.closing(sqlite3.connect(sqlite_path(env))) as copy:
                source.backup(copy)
        else:
            restore = [shutil.which("pg_restore") or "/usr/bin/pg_restore", "--no-owner", "--exit-on-error",
                       "--dbname", env["DATABASE_URL"], str(cached)]
            subprocess.run(restore, check=True, capture_output=True, timeout=600)
        how = "restored from the cache"
    else:
        env = builder.build_env(f"template_{kind}", demo=kind == "demo")
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        for old in CACHE_DIR.glob(f"{kind}-*.{cached.suffix[1:]}"):
            old.unlink()
        if context.vendor == "sqlite":
            with contextlib.closing(sqlite3.connect(sqlite_path(env))) as source, \
                    contextlib.closing(sqlite3.connect(cached)) as copy:
                source.backup(copy)
        else:
            dump = [shutil.which("pg_dump") or "/usr/bin/pg_dump", "--format=custom", "--no-owner", f"--file={cached}",
                    env["DATABASE_URL"]]
            subprocess.run(dump, check=True, capture_output=True, timeout=600)
        how = "built"
    if context.vendor == "sqlite":
        db = str(sqlite_path(env))
        with contextlib.closing(sqlite3.connect(db)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    else:
        db = env["DATABASE_URL"].rsplit("/", 1)[1]
    took = time.monotonic() - t0
    TEMPLATE_SECONDS[0] += took
    print(f"  ({how} the {kind} {context.vendor} database in {took:.0f} s)", flush=True)
    _TEMPLATES[key] = {"db": db, "var": env["PHARMACRM_VAR_DIR"]}
    return _TEMPLATES[key]


def worker_result(proc: subprocess.Popen, out: str, err: str) -> dict:
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"soak.worker exited {proc.returncode}: {err[-3000:]}")
    return json.loads(lines[-1])


def drop_created_databases() -> None:
    """Drop every throw-away PostgreSQL database this run made (templates included)."""
    while _CREATED_DATABASES:
        url, name = _CREATED_DATABASES.pop()
        with contextlib.suppress(Exception):
            psql(url, f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
            psql(url, f'DROP DATABASE IF EXISTS "{name}"')
    _TEMPLATES.clear()


def sqlite_path(env: dict[str, str]) -> Path:
    return Path(env["PHARMACRM_VAR_DIR"]) / "pharmacrm.sqlite3"


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
             "--error-logfile", "-", "--access-logfile", "-", "--graceful-timeout", "10",
             "--keep-alive", "0",  # as scripts/serve.sh: a reload cannot reset an idle kept-alive connection
             "--access-logformat", '%(h)s "%(r)s" %(s)s %(b)s %(M)sms pid=%(p)s'],
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


def run_parallel(context: Context, env: dict[str, str], task: str, processes: int, *, timeout: int = 600,
                 **args: object) -> list[dict]:
    """Start ``processes`` workers running ``task`` at the same moment (after Django has loaded in each)."""
    start_at = time.time() + 4 + processes * 0.4
    procs = [context.spawn(env, task, start_at=start_at, **args) for _ in range(processes)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=timeout)
        results.append(worker_result(proc, out, err))
    return results


def merge_errors(results: list[dict]) -> dict[str, int]:
    merged: dict[str, int] = {}
    for result in results:
        for key, count in result.get("errors", {}).items():
            merged[key] = merged.get(key, 0) + count
    return merged
