#!/usr/bin/env python3
"""Load-test a running hvkb web server: concurrent searches and drafts, latency percentiles, errors.

Usage:
  python scripts/load.py --start-server --seconds 30 --rebuild-at 10
  python scripts/load.py --port 8000 --seconds 60
  python scripts/load.py --port 8000 --rebuild-at 20 --index ~/.local/share/hvkb/index
  python scripts/load.py --history-check --seconds 30

32 client threads (``--clients``) send a fixed mix of ``GET /api/search?q=...`` and
``POST /api/answer`` ``{"question": ...}`` for ``--seconds`` or ``--max-requests``, whichever
comes first, and report requests/s, p50/p95/p99 latency and errors (non-2xx answers, bad bodies,
exceptions) per endpoint. ``--rebuild-at S`` (repeatable) runs ``hvkb build`` at S seconds from a
temporary copy of the content with one article touched, so the build really changes, and reports
how long the server took to serve the new build and what failed around it. ``--start-server``
starts ``hvkb serve`` on a free port with a temporary HVKB_HOME and stops it at the end.
``--history-check`` starts two such servers, one with ``--no-history``, drives both with clients that
draft through the HTML form and post feedback, checks that every acknowledged draft and feedback row
was stored, and prints drafting latency with and without history side by side.

Only a server on this machine is driven: any host but 127.0.0.1, localhost or ::1 is refused.
Exit code: 0 when no request failed, 1 otherwise, 2 for bad arguments.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ALLOWED_HOSTS = ("127.0.0.1", "localhost", "::1")
DEFAULT_SECONDS = 60.0
DEFAULT_MAX_REQUESTS = 200_000   # a hard bound even when --seconds is large
DEFAULT_CLIENTS = 32
REQUEST_TIMEOUT = 30.0           # seconds; a request slower than this counts as an error
REBUILD_WINDOW = 5.0             # seconds after a rebuild's swap in which failures are attributed to it
TOUCHED_ARTICLE = "quorum.md"    # the article a rebuild appends a sentence to
RSS_EVERY = 5.0                  # seconds between server memory samples
RSS_WARM_SHARE = 0.2             # memory after this share of the run is the "warm" baseline of a soak
EDIT_PICKUP_TIMEOUT = 30.0       # seconds a content edit may take to be served (watch + background build)

# The mix: what forum helpers search for, typos and pasted syntax included; every one answers 200.
SEARCHES = [
    "quorum witness", "two node cluster witness", "quorom", "live migration", "live migration failed 0x8009030e",
    "Set-VMProcessor CompatibilityForMigrationEnabled", "processor compatibility", "checkpoint avhdx merge",
    "delete avhdx", "production checkpoint", "dynamic memory sql server", "smart paging", "integration services",
    "time sync domain controller", "usn rollback", "vm generation 2 secure boot", "gen 1 vs gen 2",
    "hyper-v replica", "replica frequency 30 seconds", "cluster shared volume redirected", "CSV cache",
    "virtual switch vlan", "vmq", "linux guest backup", "licensing standard two vms", "core licensing",
    "KB5034441", "0x80070005", "vmms.exe", "Windows Server 2012 R2", "2k8r2 cluster", "azure connect",
    "checkpoint AND (", "title: quorum", '"live migration', "witness^2 quorum~1", "💥 cluster quorum",
    "C:\\ClusterStorage\\Volume1", "the vm won't start after a checkpoint",
]
QUESTIONS = [
    "Hi all, we have a two node Hyper-V 2019 cluster. Do we need a witness? Thanks",
    "Live migration between our Intel and AMD hosts fails, what can I do?",
    "Can I delete the avhdx files to free disk space on the host?",
    "Is a checkpoint a good enough backup before patching a domain controller?",
    "Dynamic memory for SQL Server VMs: yes or no?",
    "Our 2012 R2 cluster goes down when one node reboots, quorom lost. Help!",
    "How many VMs can I run with Windows Server 2022 Standard?",
    "Hyper-V replica every 30 seconds over a slow WAN link, is that supported?",
    "Cluster Shared Volume in redirected access after backup, event ID 5125",
    "Generation 2 VM does not boot Linux, secure boot error",
    "<p>Hello,</p><p>VM fails to start with <b>0x80070005</b> after moving it to another host.</p>",
    "VMware vMotion between hosts with different CPUs, EVC?",
    "Integration services time sync makes the DC clock drift, should I disable it?",
    "Time sync issue\n" + "2024-05-01 12:00:00 Hyper-V-VMMS Error 3040 'VM01' failed to start\n" * 40,
    "Can I mix Server Core and Desktop Experience nodes in one cluster?",
]


# --------------------------------------------------------------------------- recording

@dataclass
class Record:
    t: float          # seconds since the run started, when the request was sent
    endpoint: str     # "search" or "answer"
    latency: float    # seconds
    outcome: str      # "200", "503", "exc:TimeoutError", "bad-body"


@dataclass
class RebuildEvent:
    at: float
    started: float = 0.0
    finished: float = 0.0
    exit_code: int | None = None
    output: str = ""
    build_before: str | None = None
    build_after: str | None = None
    served_at: float | None = None  # when /healthz first reported the new build


@dataclass
class Run:
    host: str
    port: int
    started: float = field(default_factory=time.perf_counter)
    records: list[Record] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    sent: int = 0

    def now(self) -> float:
        return time.perf_counter() - self.started

    def take_ticket(self, max_requests: int) -> bool:
        with self.lock:
            if self.sent >= max_requests:
                return False
            self.sent += 1
            return True


def check_host(host: str) -> str:
    """Refuse anything but this machine: a load test must never hit someone else's server.

    >>> check_host("localhost")
    'localhost'
    """
    h = host.strip().strip("[]").lower()
    if h not in ALLOWED_HOSTS:
        raise SystemExit(f"load.py: refusing host {host!r}: only {', '.join(ALLOWED_HOSTS)} are allowed")
    return h


def _connect(host: str, port: int) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(host, port, timeout=REQUEST_TIMEOUT)


_SOAK_WORDS = sorted({w for q in SEARCHES + QUESTIONS for w in q.lower().split() if w.isalpha()})


def random_query(rng: random.Random) -> str:
    """A soak query: 8 to 64 words, most made up, so every one reaches new cache keys."""
    out = []
    for _ in range(rng.randint(8, 64)):
        if rng.random() < 0.3:
            out.append(rng.choice(_SOAK_WORDS))
        else:
            out.append("".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 12))))
    return " ".join(out)


SOAK = False  # set by --soak: searches are random_query() instead of the fixed mix


def _request(conn: http.client.HTTPConnection, endpoint: str, rng: random.Random) -> tuple[int, bytes]:
    if endpoint == "search":
        q = urllib.parse.quote(random_query(rng) if SOAK else rng.choice(SEARCHES))
        conn.request("GET", f"/api/search?q={q}&limit=10", headers={"Accept": "application/json"})
    else:
        body = json.dumps({"question": rng.choice(QUESTIONS)}).encode()
        conn.request("POST", "/api/answer", body=body,
                     headers={"Content-Type": "application/json", "Accept": "application/json"})
    resp = conn.getresponse()
    return resp.status, resp.read()


def _body_ok(endpoint: str, data: bytes) -> bool:
    try:
        doc = json.loads(data)
    except ValueError:
        return False
    if endpoint == "search":
        return isinstance(doc, dict) and isinstance(doc.get("results"), list)
    return isinstance(doc, dict) and isinstance(doc.get("confidence"), (int, float)) and "draft" in doc


def client(run: Run, seed: int, deadline: float, max_requests: int, draft_ratio: float) -> None:
    """One client: a keep-alive connection, reopened after any failure."""
    rng = random.Random(seed)
    records: list[Record] = []
    conn = None
    while run.now() < deadline and run.take_ticket(max_requests):
        endpoint = "answer" if rng.random() < draft_ratio else "search"
        t0 = run.now()
        try:
            if conn is None:
                conn = _connect(run.host, run.port)
            status, data = _request(conn, endpoint, rng)
            outcome = str(status)
            if 200 <= status < 300 and not _body_ok(endpoint, data):
                outcome = "bad-body"
        except (OSError, http.client.HTTPException) as exc:
            outcome = f"exc:{type(exc).__name__}"
            if conn is not None:
                conn.close()
            conn = None
        records.append(Record(t0, endpoint, run.now() - t0, outcome))
    if conn is not None:
        conn.close()
    with run.lock:
        run.records.extend(records)


# --------------------------------------------------------------------------- server and rebuilds

def free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def healthz(host: str, port: int, timeout: float = 5.0) -> dict | None:
    try:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        conn.request("GET", "/healthz")
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return json.loads(data) if resp.status == 200 else None
    except (OSError, http.client.HTTPException, ValueError):
        return None


def cli_env(home: Path | None = None, content: Path | None = None) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    if home is not None:
        env["HVKB_HOME"] = str(home)
    if content is not None:
        env["HVKB_CONTENT"] = str(content)
    env.pop("HVKB_INDEX", None)
    return env


class Server:
    """``hvkb serve`` in a subprocess with its own HVKB_HOME and content copy; stopped by :meth:`stop`."""

    def __init__(self, host: str, workdir: Path, content: Path, threads: int | None, extra_args: list[str] = ()):
        self.host, self.port = host, free_port(host)
        self.home = workdir / "home"
        self.content = content
        self.index = self.home / "index"
        workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / "server.log"
        self._log = open(self.log_path, "wb")
        cmd = [sys.executable, "-m", "kb.cli", "serve", "--host", host, "--port", str(self.port), *extra_args]
        if threads is not None:
            cmd += ["--threads", str(threads)]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=cli_env(self.home, content), stdout=self._log,
                                     stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 180.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"load.py: the server exited with {self.proc.returncode}; see {self.log_path}:\n"
                                 + self.log_tail())
            h = healthz(self.host, self.port, timeout=2.0)
            if h:
                return h
            time.sleep(0.2)
        raise SystemExit(f"load.py: the server was not ready after {timeout:.0f} s; see {self.log_path}")

    def open_fds(self) -> int | None:
        try:
            return len(os.listdir(f"/proc/{self.proc.pid}/fd"))
        except OSError:
            return None

    def rss_mb(self) -> float | None:
        """The server's resident memory (Linux only)."""
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
        except (OSError, ValueError):
            return None
        return None

    def cpu_seconds(self) -> float | None:
        """User + system CPU time the server has used so far (Linux only)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return None

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            if os.name == "nt":
                self.proc.terminate()
            else:
                self.proc.send_signal(signal.SIGINT)  # waitress stops cleanly on Ctrl+C
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()
        return self.proc.returncode


def touch_content(content: Path, n: int) -> Path:
    """Append one sentence to an article so the rebuild's content hash really changes."""
    path = content / "articles" / TOUCHED_ARTICLE
    if not path.is_file():
        path = sorted((content / "articles").glob("*.md"))[0]
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(f"\nThis sentence was added by a load test rebuild (number {n}).\n")
    return path


def rebuilder(run: Run, events: list[RebuildEvent], content: Path, index: Path) -> None:
    for n, ev in enumerate(events, 1):
        delay = ev.at - run.now()
        if delay > 0:
            time.sleep(delay)
        ev.build_before = (healthz(run.host, run.port) or {}).get("build")
        touch_content(content, n)
        ev.started = run.now()
        cmd = [sys.executable, "-m", "kb.cli", "build", "--content", str(content), "--index", str(index)]
        proc = subprocess.run(cmd, cwd=ROOT, env=cli_env(), capture_output=True, text=True)
        ev.finished = run.now()
        ev.exit_code = proc.returncode
        ev.output = (proc.stdout + proc.stderr).strip()[-2000:]
        # The server rechecks CURRENT about once a second; give it a few.
        until = time.perf_counter() + 15
        while time.perf_counter() < until:
            build = (healthz(run.host, run.port) or {}).get("build")
            if build and build != ev.build_before:
                ev.build_after, ev.served_at = build, run.now()
                break
            time.sleep(0.1)


# --------------------------------------------------------------------------- report

def rss_sampler(run: Run, server: "Server", samples: list[tuple[float, float]], deadline: float,
                every: float = RSS_EVERY) -> None:
    while run.now() < deadline:
        rss = server.rss_mb()
        if rss is not None:
            samples.append((round(run.now(), 1), rss))
        time.sleep(every)


def editor(run: Run, events: list[RebuildEvent], content: Path) -> None:
    """Edit the content under a running server (no `hvkb build`): the server must notice by itself."""
    for n, ev in enumerate(events, 1):
        delay = ev.at - run.now()
        if delay > 0:
            time.sleep(delay)
        ev.build_before = (healthz(run.host, run.port) or {}).get("build")
        touch_content(content, 100 + n)
        ev.started = ev.finished = run.now()
        ev.exit_code = 0
        deadline = time.monotonic() + EDIT_PICKUP_TIMEOUT
        while time.monotonic() < deadline:
            build = (healthz(run.host, run.port) or {}).get("build")
            if build and build != ev.build_before:
                ev.build_after, ev.served_at = build, run.now()
                break
            time.sleep(0.2)


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 50)
    2.0
    """
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, int(-(-p * len(sorted_values) // 100)) - 1))
    return sorted_values[k]


def summarize(records: list[Record], seconds: float) -> dict:
    by_endpoint: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        by_endpoint[r.endpoint].append(r)
    out = {}
    for name, rs in sorted(by_endpoint.items()) + [("all", records)]:
        lat = sorted(r.latency for r in rs)
        errors = [r for r in rs if not r.outcome.startswith("2")]
        out[name] = {
            "requests": len(rs), "errors": len(errors), "rps": round(len(rs) / seconds, 1) if seconds else None,
            "p50_ms": round(percentile(lat, 50) * 1000, 1), "p95_ms": round(percentile(lat, 95) * 1000, 1),
            "p99_ms": round(percentile(lat, 99) * 1000, 1), "max_ms": round(lat[-1] * 1000, 1) if lat else None,
            "outcomes": dict(Counter(r.outcome for r in rs).most_common()),
        }
    return out


def report(args, run: Run, seconds: float, events: list[RebuildEvent], server: Server | None, fds: dict) -> dict:
    data = {"host": run.host, "port": run.port, "clients": args.clients, "seconds": round(seconds, 2),
            "max_requests": args.max_requests, "draft_ratio": args.draft_ratio,
            "endpoints": summarize(run.records, seconds), "rebuilds": [], "server_fds": fds}
    for ev in events:
        window = [r for r in run.records if ev.started <= r.t <= (ev.served_at or ev.finished) + REBUILD_WINDOW]
        data["rebuilds"].append({
            "at_s": ev.at, "build_s": round(ev.finished - ev.started, 2), "exit_code": ev.exit_code,
            "build_before": ev.build_before, "build_after": ev.build_after,
            "served_after_s": round(ev.served_at - ev.finished, 2) if ev.served_at else None,
            "requests_in_window": len(window),
            "errors_in_window": sum(1 for r in window if not r.outcome.startswith("2")),
            "output": ev.output if ev.exit_code else ev.output.splitlines()[-1:],
        })
    for ev in getattr(args, "_edit_events", []):
        window = [r for r in run.records if ev.started <= r.t <= (ev.served_at or ev.started) + REBUILD_WINDOW]
        data.setdefault("edits", []).append({
            "at_s": ev.at, "build_before": ev.build_before, "build_after": ev.build_after,
            "served_after_s": round(ev.served_at - ev.started, 2) if ev.served_at else None,
            "requests_in_window": len(window),
            "errors_in_window": sum(1 for r in window if not r.outcome.startswith("2"))})
    samples = getattr(args, "_rss", [])
    if samples:
        warm_t = seconds * RSS_WARM_SHARE
        warm = next((mb for t, mb in samples if t >= warm_t), samples[0][1])
        end = samples[-1][1]
        data["server_rss_mb"] = {"start": samples[0][1], "warm": warm, "end": end, "max": max(mb for _t, mb in samples),
                                 "growth_after_warm_pct": round(100 * (end - warm) / warm, 1) if warm else None}
    if server is not None:
        data["server_log_tail"] = server.log_tail(10)
    return data


def print_report(data: dict) -> None:
    print(f"hvkb load test: {data['clients']} clients, {data['seconds']} s, http://{data['host']}:{data['port']}/")
    heads = ["requests", "req/s", "errors", "p50 ms", "p95 ms", "p99 ms", "max ms"]
    print(f"{'endpoint':9} " + " ".join(f"{h:>9}" if h == "requests" else f"{h:>8}" for h in heads))
    for name, s in data["endpoints"].items():
        print(f"{name:9} {s['requests']:>9} {s['rps']:>8} {s['errors']:>8} {s['p50_ms']:>8} {s['p95_ms']:>8} "
              f"{s['p99_ms']:>8} {s['max_ms']:>8}")
    for name, s in data["endpoints"].items():
        odd = {k: v for k, v in s["outcomes"].items() if not k.startswith("2")}
        if odd:
            print(f"  {name} failures: {odd}")
    for rb in data["rebuilds"]:
        served = f"served {rb['served_after_s']} s after the build" if rb["served_after_s"] is not None else \
            "NOT picked up by the server within 15 s"
        print(f"rebuild at {rb['at_s']} s: exit {rb['exit_code']}, took {rb['build_s']} s, "
              f"{rb['build_before']} -> {rb['build_after']}, {served}; "
              f"{rb['errors_in_window']} errors in {rb['requests_in_window']} requests around it")
        if rb["exit_code"]:
            print("  " + "\n  ".join(str(rb["output"]).splitlines()[-10:]))
    for ed in data.get("edits", []):
        served = f"served {ed['served_after_s']} s after the edit" if ed["served_after_s"] is not None else \
            f"NOT picked up within {EDIT_PICKUP_TIMEOUT:.0f} s"
        print(f"content edit at {ed['at_s']} s: {ed['build_before']} -> {ed['build_after']}, {served}; "
              f"{ed['errors_in_window']} errors in {ed['requests_in_window']} requests around it")
    if data.get("server_rss_mb"):
        m = data["server_rss_mb"]
        print(f"server RSS: start {m['start']} MB, warm {m['warm']} MB, end {m['end']} MB, max {m['max']} MB "
              f"({m['growth_after_warm_pct']}% after warm-up)")
    if data.get("server_cpu"):
        c = data["server_cpu"]
        print(f"server CPU: {c['seconds']} s ({c['ms_per_request']} ms a request, {c['cores_busy']} cores busy)")
    if any(v is not None for v in data["server_fds"].values()):
        print("server open files: " + ", ".join(f"{k} {v}" for k, v in data["server_fds"].items()))


# --------------------------------------------------------------------------- history: rows kept, latency

HISTORY_ROUNDS = 3               # alternating rounds per server: drift (other work on the machine) hits both alike
WARM_UP_SECONDS = 3.0            # one client drafting before the rounds, per server
MAX_LATENCY_RATIO = 1.2          # drafting with history may be at most 20% slower than without (issue 15)
_DRAFT_TOKEN = re.compile(r'name="draft" value="([^"]+)"')
_CSRF_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class HistoryTally:
    """What one server acknowledged: drafts shown with a feedback form (so stored) and feedback accepted."""
    drafts: int = 0
    feedback: int = 0
    records: list[Record] = field(default_factory=list)


def _cookie_of(resp: http.client.HTTPResponse, jar: dict) -> None:
    for header in resp.headers.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        jar[name.strip()] = rest.split(";", 1)[0]


def history_client(run: Run, tally: HistoryTally, seed: int, deadline: float) -> None:
    """A browser-like client: get the form (session cookie, CSRF token), then draft and rate, in a loop."""
    rng = random.Random(seed)
    records: list[Record] = []
    drafts = feedback = 0
    conn, jar, csrf = None, {}, ""

    def send(method: str, path: str, body: dict | None = None, accept: str = "text/html"):
        headers = {"Accept": accept}
        if jar:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        _cookie_of(resp, jar)
        return resp.status, resp.read()

    while run.now() < deadline:
        t0 = run.now()
        endpoint = "form"
        try:
            if conn is None:
                conn = _connect(run.host, run.port)
                status, page = send("GET", "/answer")
                m = _CSRF_TOKEN.search(page.decode("utf-8", "replace"))
                csrf = m.group(1) if m else ""
                records.append(Record(t0, endpoint, run.now() - t0, str(status)))
                continue
            endpoint = "answer"
            status, page = send("POST", "/answer", {"question": rng.choice(QUESTIONS), "csrf_token": csrf})
            text = page.decode("utf-8", "replace")
            outcome = str(status) if status != 200 or 'id="draft-md"' in text else "bad-body"
            records.append(Record(t0, endpoint, run.now() - t0, outcome))
            m = _DRAFT_TOKEN.search(text)
            drafts += m is not None  # the page offers feedback on it: the server stored it and gave it an id
            # Without history there is no form: the post is sent anyway (and refused), so both servers
            # get the same mix of requests and their drafting latency compares.
            t1, endpoint = run.now(), "feedback"
            verdict = rng.choice(["up", "down"])
            fields = {"csrf_token": csrf, "draft": m.group(1) if m else "", "verdict": verdict}
            if verdict == "down":
                fields["reason"] = rng.choice(["wrong-subject", "wrong-fact", "outdated", "missing-step", "other"])
                fields["note"] = f"load test {seed}"
            status, body = send("POST", "/feedback", fields, accept="application/json")
            ok = status == 200 and b'"ok":true' in body.replace(b" ", b"")
            feedback += ok
            records.append(Record(t1, endpoint, run.now() - t1, str(status) if ok or status != 200 else "bad-body"))
        except (OSError, http.client.HTTPException) as exc:
            records.append(Record(t0, endpoint, run.now() - t0, f"exc:{type(exc).__name__}"))
            if conn is not None:
                conn.close()
            conn, jar, csrf = None, {}, ""
    if conn is not None:
        conn.close()
    with run.lock:
        tally.records.extend(records)
        tally.drafts += drafts
        tally.feedback += feedback


def stored_rows(home: Path) -> dict:
    """Rows in a server's history file, read by a second connection (WAL: it sees every commit)."""
    import sqlite3

    conn = sqlite3.connect(f"file:{home / 'history.sqlite3'}?mode=ro", uri=True)
    try:
        return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("drafts", "feedback")}
    finally:
        conn.close()


def run_history_check(args, host: str, workdir: Path, content: Path) -> int:
    """``--history-check``: the same drafts + feedback load on a server without history and one with,
    in alternating rounds; rows stored against rows acknowledged; drafting latency side by side."""
    servers = {
        "without": Server(host, workdir / "without", content, args.server_threads, ["--no-history"]),
        "with": Server(host, workdir / "with", content, args.server_threads, ["--history", "--feedback-rate", "1000000"]),
    }
    tallies = {name: HistoryTally() for name in servers}
    seconds = {name: 0.0 for name in servers}
    try:
        for name, server in servers.items():
            print(f"load.py: starting hvkb serve {name} history on {host}:{server.port} ...", file=sys.stderr)
            server.wait_ready()
            # Warm up outside the measurement: the first drafts load the drafter (seconds, in every server alike).
            history_client(Run(host, server.port), HistoryTally(), -1, WARM_UP_SECONDS)
        cpu = {name: server.cpu_seconds() for name, server in servers.items()}
        before = stored_rows(servers["with"].home)  # the warm-up's rows
        rounds = max(1, args.history_rounds)
        for n in range(rounds):
            for name in (("without", "with") if n % 2 == 0 else ("with", "without")):
                run = Run(host, servers[name].port)
                share = args.seconds / rounds
                threads = [threading.Thread(target=history_client, args=(run, tallies[name], args.seed * 1000 + i + 100 * n,
                                                                         share), daemon=True)
                           for i in range(args.clients)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                seconds[name] += run.now()
        for name, server in servers.items():
            end = server.cpu_seconds()
            cpu[name] = end - cpu[name] if end is not None and cpu[name] is not None else None
        after = stored_rows(servers["with"].home)
        stored = {k: after[k] - before[k] for k in after}
    finally:
        for server in servers.values():
            server.stop()
    data = {"clients": args.clients, "seconds_each": round(args.seconds, 1), "rounds": args.history_rounds}
    for name, tally in tallies.items():
        data[name] = summarize(tally.records, seconds[name])
    sent = {"drafts": tallies["with"].drafts, "feedback": tallies["with"].feedback}
    data["rows"] = {"sent": sent, "stored": stored,
                    "lost": {k: sent[k] - stored[k] for k in sent}}
    a, b = data["without"].get("answer", {}), data["with"].get("answer", {})
    ratios = {k: round(b[k] / a[k], 3) if a.get(k) else None for k in ("p50_ms", "p95_ms", "p99_ms")}
    if a.get("requests") and b.get("requests"):
        ratios["rps"] = round(b["rps"] / a["rps"], 3) if a["rps"] else None
    data["draft_latency_ratio"] = ratios
    # Server CPU per draft (its feedback post included): what history costs, apart from queueing.
    per_draft = {name: round(1000 * cpu[name] / data[name]["answer"]["requests"], 2)
                 if cpu.get(name) is not None and data[name].get("answer", {}).get("requests") else None
                 for name in servers}
    data["server_cpu_ms_per_draft"] = per_draft
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print(f"hvkb history load: {args.clients} clients drafting and rating, {args.seconds:g} s per server "
              f"in {args.history_rounds} alternating rounds")
        print(f"{'drafts (POST /answer)':24} {'without':>10} {'with':>10} {'ratio':>7}")
        for key, label in (("requests", "requests"), ("rps", "drafts/s"), ("p50_ms", "p50 ms"), ("p95_ms", "p95 ms"),
                           ("p99_ms", "p99 ms"), ("errors", "errors")):
            ratio = ratios.get(key) if key in ratios else None
            print(f"  {label:22} {a.get(key, 0):>10} {b.get(key, 0):>10} {ratio if ratio is not None else '':>7}")
        if None not in per_draft.values():
            print(f"  {'server CPU ms/draft':22} {per_draft['without']:>10} {per_draft['with']:>10} "
                  f"{round(per_draft['with'] / per_draft['without'], 3) if per_draft['without'] else '':>7}")
        fb = data["with"].get("feedback", {})
        print(f"feedback (POST /feedback, with history): {fb.get('requests', 0)} posts, p50 {fb.get('p50_ms')} ms, "
              f"p95 {fb.get('p95_ms')} ms, errors {fb.get('errors', 0)}")
        print(f"rows: drafts sent {sent['drafts']} stored {stored['drafts']} (lost {data['rows']['lost']['drafts']}); "
              f"feedback sent {sent['feedback']} stored {stored['feedback']} (lost {data['rows']['lost']['feedback']})")
        for name in servers:
            odd = {k: v for e, s in data[name].items() if e != "all" and (name == "with" or e != "feedback")
                   for k, v in s["outcomes"].items() if not k.startswith("2")}
            if odd:
                print(f"  {name} history failures: {odd}")
    lost = any(v != 0 for v in data["rows"]["lost"].values())
    errors = data["with"]["all"]["errors"] or data["without"].get("answer", {}).get("errors", 0)
    slow = ratios.get("p50_ms") is not None and ratios["p50_ms"] > MAX_LATENCY_RATIO
    if slow:
        print(f"load.py: drafting p50 with history is {ratios['p50_ms']:.2f}x the run without "
              f"(the limit is {MAX_LATENCY_RATIO})", file=sys.stderr)
    return 1 if lost or errors or slow else 0


# --------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--host", default="127.0.0.1", help="127.0.0.1, localhost or ::1 only")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--seconds", type=float, default=DEFAULT_SECONDS)
    p.add_argument("--max-requests", type=int, default=DEFAULT_MAX_REQUESTS)
    p.add_argument("--clients", type=int, default=DEFAULT_CLIENTS)
    p.add_argument("--draft-ratio", type=float, default=0.2, help="share of requests that are drafts (0..1)")
    p.add_argument("--rebuild-at", type=float, action="append", default=[], metavar="SECONDS",
                   help="run `hvkb build` this many seconds in (repeatable)")
    p.add_argument("--content", type=Path, default=ROOT / "content",
                   help="content to copy for the server and rebuilds (default: the repository's content/)")
    p.add_argument("--index", type=Path, help="the running server's index folder (needed for --rebuild-at "
                                                "without --start-server)")
    p.add_argument("--start-server", action="store_true", help="start `hvkb serve` on a free port, stop it at the end")
    p.add_argument("--server-threads", type=int, default=None,
                   help="waitress threads of a started server (default: hvkb serve's own default)")
    p.add_argument("--edit-at", type=float, action="append", default=[], metavar="SECONDS",
                   help="edit the content this many seconds in, without `hvkb build` (needs --start-server): "
                        "the server must pick the edit up by itself (repeatable)")
    p.add_argument("--soak", action="store_true",
                   help="random 8-64 word searches instead of the fixed mix, and the server's memory sampled "
                        f"every {RSS_EVERY:.0f} s (needs --start-server); e.g. --soak --seconds 600")
    p.add_argument("--history-check", action="store_true",
                   help="start two servers, without and with history, and drive each with --clients browser-like "
                        "clients that draft (POST /answer) and rate the draft (POST /feedback) for --seconds, in "
                        "alternating rounds; check the rows stored equal those acknowledged (0 lost) and print "
                        f"drafting latency side by side (exit 1 above {MAX_LATENCY_RATIO}x)")
    p.add_argument("--history-rounds", type=int, default=HISTORY_ROUNDS, help="rounds per server for --history-check")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    args = p.parse_args(argv)
    global SOAK
    SOAK = args.soak
    if (args.soak or args.edit_at) and not args.start_server:
        p.error("--soak and --edit-at need --start-server")

    try:
        host = check_host(args.host)
    except SystemExit as exc:
        p.error(str(exc.code).removeprefix("load.py: "))
    if not (1 <= args.clients <= 256 and args.seconds > 0 and args.max_requests > 0 and 0 <= args.draft_ratio <= 1):
        p.error("need 1..256 clients, --seconds > 0, --max-requests > 0 and --draft-ratio in 0..1")
    if args.rebuild_at and not args.start_server and args.index is None:
        p.error("--rebuild-at needs --index (the server's index folder) unless --start-server is given")
    if any(not 0 <= t < args.seconds for t in args.rebuild_at):
        p.error("every --rebuild-at must be within the run")

    if args.history_check and (args.rebuild_at or args.edit_at or args.soak):
        p.error("--history-check starts its own servers: no --rebuild-at, --edit-at or --soak with it")
    workdir = Path(tempfile.mkdtemp(prefix="hvkb-load-"))
    server = None
    try:
        content = workdir / "content"
        shutil.copytree(args.content, content)
        if args.history_check:
            return run_history_check(args, host, workdir, content)
        if args.start_server:
            server = Server(host, workdir, content, args.server_threads)
            port, index = server.port, server.index
            print(f"load.py: starting hvkb serve on {host}:{port} (HVKB_HOME={server.home}) ...", file=sys.stderr)
            server.wait_ready()
        else:
            port, index = args.port, args.index
            if healthz(host, port) is None:
                raise SystemExit(f"load.py: no hvkb server answers http://{host}:{port}/healthz")
        run = Run(host, port)
        fds = {"start": server.open_fds() if server else None}
        cpu_start = server.cpu_seconds() if server else None
        events = [RebuildEvent(at=t) for t in sorted(args.rebuild_at)]
        threads = [threading.Thread(target=client, args=(run, args.seed * 1000 + i, args.seconds, args.max_requests,
                                                         args.draft_ratio), daemon=True) for i in range(args.clients)]
        rb = threading.Thread(target=rebuilder, args=(run, events, content, index), daemon=True) if events else None
        args._edit_events = [RebuildEvent(at=t) for t in sorted(args.edit_at)]
        ed = (threading.Thread(target=editor, args=(run, args._edit_events, content), daemon=True)
              if args._edit_events else None)
        args._rss = []
        rss = (threading.Thread(target=rss_sampler, args=(run, server, args._rss, args.seconds), daemon=True)
               if server is not None else None)
        for t in threads:
            t.start()
        for extra in (rb, ed, rss):
            if extra:
                extra.start()
        for t in threads:
            t.join()
        elapsed = run.now()
        if rb:
            rb.join(timeout=60)
        if ed:
            ed.join(timeout=EDIT_PICKUP_TIMEOUT + 5)
        if server is not None:
            rss_end = server.rss_mb()
            if rss_end is not None:
                args._rss.append((round(run.now(), 1), rss_end))
        fds["end"] = server.open_fds() if server else None
        data = report(args, run, elapsed, events, server, fds)
        cpu_end = server.cpu_seconds() if server else None
        if cpu_start is not None and cpu_end is not None and run.records:
            used = cpu_end - cpu_start  # builds run in their own process: not counted
            data["server_cpu"] = {"seconds": round(used, 2), "ms_per_request": round(1000 * used / len(run.records), 2),
                                  "cores_busy": round(used / elapsed, 2)}
        if args.json:
            print(json.dumps(data, indent=2))
        else:
            print_report(data)
        failed = (data["endpoints"]["all"]["errors"] or any(ev.exit_code for ev in events)
                  or any(ev.served_at is None for ev in args._edit_events))
        return 1 if failed else 0
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
