"""Red team: hostile submissions against the real grader, on the course's own exercise sets.

All of 01's attacks (and a few on 04) are graded in one ``grade`` call per source notebook, as a
subprocess with two sandboxes at a time, next to an honest submission and honest classmates.
Each attack must cost only the attacker: its own score is exactly what it really solved, the
classmates' scores are exact, the run finishes with exit status 0, nothing outside the sandboxes
changes, no process of the attack survives and no secret reaches a report or the network.
The attacks themselves, written as a hostile student would, are in ``tests/hostile/redteam.py``.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import sysconfig
import threading
import time
from pathlib import Path

import pytest

from course_lib.grading import sandbox_problem
from tests.hostile import redteam as rt

pytestmark = [pytest.mark.notebooks, pytest.mark.slow]

if sandbox_problem():
    pytest.skip(f"no sandbox here: {sandbox_problem()}", allow_module_level=True)

MEMORY_MB = 1024
# --timeout and --deadline (s) of each grade call. 01's denial-of-service attacks last until a
# limit ends them, so its limits are short, yet several times what an honest classmate graded next
# to a fork bomb needs on a loaded machine (its slowest cell, the setup importing torch, takes ~2 s
# and its whole run ~3 s); 'stuck' must reach its cell within the deadline less one timeout.
LIMITS01 = (8, 14)
# No submission of 04 is meant to meet a limit: generous ones keep the source's reference run and
# honest04 clear of them whatever the load, at no cost.
LIMITS04 = (60, 120)
SITE = Path(sysconfig.get_paths()["purelib"])
CLASSMATE_NAMES = ("honest", "classmate", "classmate_late")
BYSTANDERS = ("honest", "bystander_fork_bomb", "bystander_memory_hog", "honest04")


class Listener:
    """A TCP server on every IPv4 address and an abstract unix socket, in the grader's network
    namespace, recording whatever reaches them."""

    def __init__(self, abstract: str):
        self.received: list[str] = []
        self.tcp = socket.socket()
        self.tcp.bind(("0.0.0.0", 0))
        self.tcp.listen(16)
        self.port = self.tcp.getsockname()[1]
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("0.0.0.0", self.port))
        self.unix = socket.socket(socket.AF_UNIX)
        self.unix.bind("\0" + abstract)
        self.unix.listen(16)
        for sock in (self.tcp, self.udp, self.unix):
            sock.settimeout(0.2)
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock):
        while sock.fileno() != -1:
            try:
                if sock.type == socket.SOCK_DGRAM:
                    data, who = sock.recvfrom(65536)
                    self.received.append(f"udp {who}: {data[:200]!r}")
                    continue
                conn, who = sock.accept()
                conn.settimeout(1)
                try:
                    data = conn.recv(65536)
                except OSError:
                    data = b""
                self.received.append(f"{sock.family.name} {who}: {data[:200]!r}")
                conn.close()
            except (socket.timeout, OSError):
                continue

    def close(self):
        for sock in (self.tcp, self.udp, self.unix):
            sock.close()


def _digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "<dir>"
    except OSError as err:
        return f"<{type(err).__name__}>"


def _tree(base: Path) -> dict[str, str]:
    if not base.exists():
        return {}
    return {str(p): _digest(p) for p in sorted(base.rglob("*")) if ".ipynb_checkpoints" not in p.parts}


def _host_state(ctx: rt.Context) -> dict:
    """Everything a host-harm attack could change, in a form that compares with ==."""
    listing = {}
    for folder in (SITE, Path("/tmp"), rt.ROOT / "course_lib", rt.ROOT / "solutions", ctx.folder.parent):
        try:
            listing[str(folder)] = sorted(p.name for p in folder.iterdir())
        except OSError:
            listing[str(folder)] = None
    return {
        "grading folder": _tree(ctx.folder.parent),
        "grader home": _tree(ctx.home),
        "root ipython startup": _tree(Path("/root/.ipython/profile_default/startup")),
        "checks.py": _digest(rt.ROOT / "course_lib" / "checks.py"),
        "pth files": {p.name: _digest(p) for p in SITE.glob("*.pth")},
        "marked names": sorted(name for folder, names in listing.items() for name in names or ()
                               if rt.MARK in name),
    }


def _marked_processes() -> list[str]:
    return rt.processes_with(rt.MARK)


def _pwned_files() -> list[str]:
    """Files of the checkout, site-packages and HOMEs that carry an attack's payload."""
    hits = []
    for base, pattern in ((rt.ROOT / "course_lib", "**/*.py"), (SITE, "*.pth"),
                          (Path("/root/.ipython/profile_default/startup"), "*")):
        for path in base.glob(pattern):
            try:
                if path.is_file() and f"PWNED-{rt.MARK}".encode() in path.read_bytes():
                    hits.append(str(path))
            except OSError:
                pass
    return hits


class Graded:
    """One grade call, with ``limits`` as its --timeout and --deadline, and everything observed around it."""

    def __init__(self, source: Path, attacks: list[rt.Attack], root: Path, limits: tuple[int, int],
                 feedback: bool = False):
        self.attacks = {a.name: a for a in attacks}
        self.secret = f"rt-secret-{os.urandom(8).hex()}"
        self.ssh_key = f"FAKE-SSH-KEY-{os.urandom(8).hex()}"
        abstract = f"redteam-grader-{os.getpid()}-{os.urandom(4).hex()}"
        self.listener = Listener(abstract)
        folder = root / "submitted"
        self.ctx = rt.Context(folder=folder, reports=(root / "grades.json", root / "grades.csv"),
                              classmates=tuple(folder / f"{n}.ipynb" for n in CLASSMATE_NAMES),
                              home=root.parent / f"{root.name}-home", port=self.listener.port,
                              abstract=abstract)
        ssh = self.ctx.home / ".ssh"
        ssh.mkdir(parents=True)
        (ssh / "id_rsa").write_text(f"-----BEGIN OPENSSH PRIVATE KEY-----\n{self.ssh_key}\n"
                                    "-----END OPENSSH PRIVATE KEY-----\n")
        paths = rt.write(attacks, self.ctx)
        assert not _marked_processes(), "processes of an earlier red-team run are still alive"
        self.before = _host_state(self.ctx)
        self.pwned_before = _pwned_files()
        env = {**os.environ, "HOME": str(self.ctx.home), "GRADER_SECRET_TOKEN": self.secret,
               "OMP_NUM_THREADS": "1"}
        timeout, deadline = limits
        cmd = [sys.executable, "-m", "course_lib", "grade", "--source", str(source), "--jobs", "2",
               "--timeout", str(timeout), "--deadline", str(deadline), "--memory-mb", str(MEMORY_MB),
               "--json", str(self.ctx.reports[0]), "--csv", str(self.ctx.reports[1])]
        self.feedback = root / "feedback" if feedback else None
        if self.feedback:
            cmd += ["--feedback", str(self.feedback)]
        cmd += list(map(str, paths))
        started = time.monotonic()
        proc = subprocess.Popen(cmd, env=env, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
        self.peak_kb = 0
        self.cgroups_seen: set[str] = set()
        watcher = threading.Thread(target=self._watch, args=(proc,), daemon=True)
        watcher.start()
        try:
            out, err = proc.communicate(timeout=400)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            pytest.fail(f"the grader did not finish in 400 s; its output:\n{err.decode()[-3000:]}")
        self.seconds = time.monotonic() - started
        self.status, self.stdout, self.stderr = proc.returncode, out.decode(), err.decode()
        self.pid = proc.pid
        self.processes_at_exit = _marked_processes()
        self.json_text = self.ctx.reports[0].read_text() if self.ctx.reports[0].exists() else ""
        self.csv_text = self.ctx.reports[1].read_text() if self.ctx.reports[1].exists() else ""
        time.sleep(1.0)  # a detached process would now rewrite the reports
        self.processes_later = _marked_processes()
        self.after = _host_state(self.ctx)
        self.pwned_after = _pwned_files()
        self.listener.close()
        self.doc = json.loads(self.json_text) if self.json_text else {"submissions": []}
        self.by_name = {Path(s["path"]).stem: s for s in self.doc["submissions"]}
        self.rows = {Path(r["path"]).stem: r for r in csv.DictReader(self.csv_text.splitlines())}
        self.pages = {p.stem: p.read_text() for p in self.feedback.glob("*.html")} if self.feedback else {}

    def _watch(self, proc):
        """The grader's peak memory (VmHWM) and the cgroups it makes, while it runs."""
        while proc.poll() is None:
            try:
                status = Path(f"/proc/{proc.pid}/status").read_text()
                self.peak_kb = max(self.peak_kb, int(status.split("VmHWM:")[1].split()[0]))
            except (OSError, IndexError, ValueError):
                pass
            for kind in ("memory", "pids", "cpu", ""):
                try:
                    self.cgroups_seen.update(f"{kind}/{p.name}" for p in Path("/sys/fs/cgroup", kind).iterdir()
                                             if p.name.startswith(f"course-grader-{proc.pid}-"))
                except OSError:
                    pass
            time.sleep(0.1)


@pytest.fixture(scope="module")
def graded01(tmp_path_factory):
    return Graded(rt.SOURCE01, rt.attacks01(), tmp_path_factory.mktemp("redteam01"), LIMITS01)


@pytest.fixture(scope="module")
def graded04(tmp_path_factory):
    return Graded(rt.SOURCE04, rt.attacks04(), tmp_path_factory.mktemp("redteam04"), LIMITS04,
                  feedback=True)


def _params(attacks):
    return [pytest.param(a.name, id=a.name, marks=[pytest.mark.xfail(strict=True, reason=a.xfail)]
                         if a.xfail else []) for a in attacks]


def _check_outcome(graded: Graded, name: str, points: dict):
    attack = graded.attacks[name]
    report = graded.by_name.get(name)
    assert report is not None, f"no report for {name}; grader said:\n{graded.stderr[-2000:]}"
    tests = {t["grade_id"]: t for t in report["tests"]}
    statuses = {gid: tests[gid]["status"] for gid in attack.statuses}
    for gid, allowed in attack.statuses.items():
        allowed = allowed if isinstance(allowed, (set, frozenset)) else {allowed}
        assert statuses[gid] in allowed, (f"{name}: {gid} is {statuses[gid]} "
                                          f"({tests[gid]['message'][:300]!r}), expected {allowed}")
    assert report["score"] == attack.score, (name, report["score"], statuses, report["error"])
    assert report["score"] == sum(t["points"] or 0 for t in report["tests"])
    assert report["score"] == sum(points[g] for g, t in tests.items() if t["status"] == "passed")
    if attack.error is None:
        assert report["error"] is None, report["error"]
    elif attack.error is not rt.ANY:
        assert report["error"] and attack.error in report["error"], report["error"]
    for gid, text in attack.messages.items():
        assert text in tests[gid]["message"], (gid, tests[gid]["message"][:500])
    row = graded.rows[name]
    assert float(row["total"]) == attack.score


# ----- 01: every attack, exactly its own score --------------------------------------------------
@pytest.mark.parametrize("name", _params(rt.attacks01()))
def test_attack_on_01_gets_exactly_what_it_solved(graded01, name):
    _check_outcome(graded01, name, rt.POINTS01)


@pytest.mark.parametrize("name", _params(rt.attacks04()))
def test_attack_on_04_gets_exactly_what_it_solved(graded04, name):
    _check_outcome(graded04, name, rt.POINTS04)


@pytest.mark.parametrize("fixture", ["graded01", "graded04"])
def test_the_run_finishes_with_status_zero_and_every_report(request, fixture):
    graded = request.getfixturevalue(fixture)
    assert graded.status == 0, graded.stderr[-3000:]
    assert sorted(graded.by_name) == sorted(graded.attacks)
    assert sorted(graded.rows) == sorted(graded.attacks)
    assert len(graded.json_text) < 400_000, "outputs must never reach the report"
    assert max(len(t["message"]) for s in graded.doc["submissions"] for t in s["tests"]) <= 4_010


def test_classmates_and_bystanders_keep_their_exact_scores(graded01, graded04):
    for graded in (graded01, graded04):
        for name in set(BYSTANDERS) & set(graded.by_name):
            report = graded.by_name[name]
            assert report["score"] == report["max_score"] and report["error"] is None, (name, report)
    assert graded01.by_name["classmate"]["score"] == 6 and graded01.by_name["classmate_late"]["score"] == 6


# ----- 1. host harm -------------------------------------------------------------------------------
@pytest.mark.parametrize("fixture", ["graded01", "graded04"])
def test_no_file_outside_the_sandboxes_changed(request, fixture):
    graded = request.getfixturevalue(fixture)
    before, after = graded.before, graded.after
    reports = {str(p) for p in graded.ctx.reports}
    new = set(after["grading folder"]) - set(before["grading folder"])
    if graded.feedback:  # the feedback folder and one page per student
        reports |= {str(graded.feedback)} | {str(graded.feedback / f"{n}.html") for n in graded.attacks}
    assert new == reports, f"new files in the grading folder: {sorted(new ^ reports)}"
    changed = {p for p, h in before["grading folder"].items() if after["grading folder"].get(p) != h}
    assert not changed, f"changed or removed: {sorted(changed)}"
    for key in ("grader home", "root ipython startup", "checks.py", "pth files", "marked names"):
        assert after[key] == before[key], key
    assert graded.pwned_after == graded.pwned_before == []


def test_reports_are_the_graders_and_stay_so(graded01):
    assert rt.PWNED.strip() not in graded01.json_text + graded01.csv_text
    assert graded01.ctx.reports[0].read_text() == graded01.json_text
    assert graded01.ctx.reports[1].read_text() == graded01.csv_text


@pytest.mark.parametrize("fixture", ["graded01", "graded04"])
def test_no_process_of_an_attack_survives_and_no_cgroup_is_left(request, fixture):
    graded = request.getfixturevalue(fixture)
    assert graded.processes_at_exit == [] and graded.processes_later == []
    assert graded.cgroups_seen, "the grader made no cgroup although it runs as root"
    left = [c for c in graded.cgroups_seen if Path("/sys/fs/cgroup", c).exists()]
    assert left == []


# ----- 2. cross-student ----------------------------------------------------------------------------
def _findings(graded, name, gid, tag):
    message = next(t["message"] for t in graded.by_name[name]["tests"] if t["grade_id"] == gid)
    assert tag in message, message[:500]
    return message.split(tag, 1)[1].strip()


def test_a_sandbox_sees_no_other_student_process_file_socket_or_port(graded01):
    found = json.loads(_findings(graded01, "cross_probe", "ex_cross_entropy_check", "RT-CROSS"))
    assert found["pids"] == [1] and found["foreign"] == [] and found["killed"] == 0
    assert found["classmates"] == [] and found["open_ports"] == [] and found["abstract"] == []
    assert not any(name.startswith("redteam-") for name in found["scratch"])
    assert found["sysv_shm"] <= 0


def test_killing_the_grader_from_a_sandbox_only_ends_that_sandbox(graded01):
    report = graded01.by_name["kill_grader"]
    assert report["score"] == 2 and graded01.status == 0


# ----- 5. secrets ----------------------------------------------------------------------------------
def test_no_secret_reaches_a_report(graded01):
    text = graded01.json_text + graded01.csv_text + graded01.stdout
    assert graded01.secret not in text and "GRADER_SECRET_TOKEN" not in text
    assert graded01.ssh_key not in text and "BEGIN SOLUTION" not in text
    found = _findings(graded01, "secrets_probe", "ex_cross_entropy_check", "RT-SECRETS")
    listing = json.loads(found[:found.index("}") + 1])
    assert listing["solution"] == [] and listing["ssh"] == [] and listing["token"] == [], listing


def test_nothing_reaches_the_graders_network(graded01):
    assert graded01.listener.received == []
    tried = json.loads(_findings(graded01, "net_exfil", "ex_cross_entropy_check", "RT-NET"))
    assert "connected" not in tried.values(), tried


def _hidden_lines(source: Path) -> set[str]:
    from course_lib.grading.assemble import load_source

    plan = load_source(source)
    hidden = set()
    for gid, cell in plan.cells:
        if plan.roles[gid] == "test":
            stub = set(plan.stubs[gid].splitlines())
            hidden.update(line.strip() for line in cell.source.splitlines()
                          if line not in stub and len(line.strip()) >= 20 and "HIDDEN TESTS" not in line)
    assert hidden, "the source has no hidden tests"
    return hidden


def test_hidden_test_lines_never_reach_a_feedback_page(graded04):
    assert set(graded04.pages) == set(graded04.attacks)
    hidden = _hidden_lines(rt.SOURCE04)
    import html
    forms = {line: {line, html.escape(line), html.escape(line, quote=False),
                    html.escape(line, quote=False).replace('"', "&#34;").replace("'", "&#39;")}
             for line in hidden}
    leaked = {name: sorted(line for line in hidden if any(f in page for f in forms[line]))[:3]
              for name, page in graded04.pages.items()}
    assert {name: lines for name, lines in leaked.items() if lines} == {}


def test_a_feedback_page_runs_no_code_of_the_student(graded04):
    page = graded04.pages["hidden_feedback04"]
    assert "alert(" in page, "the attack's output is not in its page"
    assert "<script>alert" not in page and "<img src=x" not in page


def test_hidden_test_lines_never_reach_a_report(graded01):
    leaked = sorted(line for line in _hidden_lines(rt.SOURCE01) if json.dumps(line)[1:-1] in graded01.json_text)
    assert leaked == []


# ----- 3. denial of service ------------------------------------------------------------------------
def test_a_sandbox_gets_at_most_one_cpu_however_many_processes_it_starts(graded01):
    # 24 spinning processes for 2 s: without a CPU limit they take every core of the machine,
    # and a classmate graded at the same time runs several times slower (and times out)
    cpus = float(_findings(graded01, "cpu_hog", "ex_cross_entropy_check", "RT-CPU").split()[0])
    assert cpus <= 1.2, f"one sandbox used {cpus} CPUs"


def test_the_grader_memory_stays_bounded(graded01):
    # one amplifying message (15 MB of '{},') parsed at a time, besides the grader's own ~200 MB
    assert 0 < graded01.peak_kb < 1_500_000, f"grader peak RSS {graded01.peak_kb / 1024:.0f} MB"
