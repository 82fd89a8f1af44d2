"""Grading on a real Dask cluster on 127.0.0.1: `dask scheduler` and two `dask worker` processes
(each a nanny and its worker process) speaking mutual TLS with certificates made by
`cluster-certs`, started by PID and stopped at the end even on failure.

Spec: only members reach it: every port is on 127.0.0.1, and a client without a certificate, with
one from another authority, or speaking plain tcp, connects to none of them and runs nothing;
`grade` refuses plain tcp to another machine; a worker's result is accepted only as well-formed
JSON. The same class (classroom.py's mix, plus an attacker that tries to kill every process it
can see and to reach the scheduler) grades to byte-identical reports, CSV and feedback pages
through ``--scheduler`` as locally, and the attack touches nothing; a worker killed mid-run
(``kill -9``) loses nothing, and only the work it lost is graded again, on the other worker; an
interrupted client (Ctrl-C; two submissions held back on the workers so that it cannot finish
first) rerun with the same ``--json`` grades only what was unfinished (counted from the workers'
own start events); a submission whose worker dies every time it is tried is reported as not
graded after a bounded number of tries.
"""
from __future__ import annotations

import asyncio
import json
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import psutil
import pytest
from distributed import Client
from distributed.comm import connect
from distributed.security import Security

from course_lib.__main__ import main
from course_lib.grading import report as reports
from course_lib.grading.certs import make_certificates
from course_lib.grading.cluster import TOPIC, DaskBackend, local_cluster
from course_lib.grading.wire import TaskFailed, decode, encode, encode_failure

sys.path.insert(0, str(Path(__file__).parent / "hostile"))
from classroom import write_class  # noqa: E402
from redteam import CROSS, GRAD, JAC, SOFTMAX, sub01  # noqa: E402

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
SOURCE = "solutions/01_softmax_cross_entropy.ipynb"
# classroom.py's mix of 7 (01-05 answered: three usual mistakes, two right; 06 untouched; 07 not a
# notebook), then the attacker: each kind of submission, and few, as every test grades the class
N = 8
ATTACK = """import os, signal, socket
for pid in sorted(int(p) for p in os.listdir('/proc') if p.isdigit()):
    if pid != os.getpid():
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError as err:
            print('kill', pid, err)
conn = socket.socket()
conn.settimeout(2)
try:
    conn.connect(('127.0.0.1', PORT))
    print('REACHED THE SCHEDULER')
except OSError as err:
    print('no scheduler:', err)
"""
ALLOWED_FAILURES = 1  # a task is given up when its worker has died twice
HOLD_LIMIT = 600  # seconds a held task waits at most for its release (Starts.hold)


@pytest.fixture(scope="module")
def class_dir(tmp_path_factory, cluster) -> Path:
    folder = tmp_path_factory.mktemp("cluster") / "class"
    write_class(folder, N - 1)
    port = int(cluster.address.rsplit(":", 1)[1])
    attacker = sub01(SOFTMAX, CROSS, GRAD, JAC, top=[ATTACK.replace("PORT", str(port))])
    nbformat.write(attacker, str(folder / f"student_{N:02d}.ipynb"))
    return folder


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("certs") / "cluster"
    done = subprocess.run([sys.executable, "-m", "course_lib", "cluster-certs", str(folder)], cwd=REPO,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    return folder


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, certs):
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
           "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": str(ALLOWED_FAILURES),
           # one task per worker thread: a task is never queued behind another on a worker
           "DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": "1.0"}
    with local_cluster(workers=2, threads=1, env=env, log_dir=tmp_path_factory.mktemp("dask-logs"),
                       tls=certs) as c:
        yield c
    for proc in [c.scheduler, *c.workers]:
        assert proc.poll() is not None, "a cluster process outlived the tests"


@pytest.fixture(scope="module")
def remote(cluster, certs) -> list[str]:
    """grade's arguments for the cluster."""
    assert cluster.address.startswith("tls://127.0.0.1:")
    return ["--scheduler", cluster.address, "--tls", str(certs)]


class Starts:
    """The grading tasks' start events, as the workers log them (see course_lib.grading.cluster);
    a worker is killed when ``kill_when`` says so, and tasks can be held back (``hold``)."""

    def __init__(self, cluster):
        self.client = Client(cluster.address, security=cluster.security, set_as_default=False)
        self.events: list[dict] = []
        self.kill_when = lambda event: False
        self.killed: list[int] = []
        self.holding = False
        self.lock = threading.Lock()
        self.flushed: dict[str, threading.Event] = {}
        self.client.subscribe_topic(TOPIC, self._on)

    def _on(self, event: tuple[float, dict]) -> None:
        msg = event[1]
        if "flush" in msg:  # ours, or the grading client's (DaskBackend.settle)
            if msg["flush"] in self.flushed:
                self.flushed[msg["flush"]].set()
            return
        with self.lock:
            self.events.append(msg)
            if self.kill_when(msg):
                os.kill(msg["pid"], signal.SIGKILL)
                self.killed.append(msg["pid"])

    def graded_since(self, mark: int) -> list[str]:
        """Labels of the submissions whose grading started after event ``mark``, once every start
        event the scheduler has had reached this client. The scheduler had them before the grade
        that started those tasks finished, and it sends events to a subscriber in order: an event
        of our own logged now comes after them."""
        token = uuid.uuid4().hex
        self.flushed[token] = threading.Event()
        self.client.log_event(TOPIC, {"flush": token})
        assert self.flushed[token].wait(60), "the scheduler did not send back an event in 60 s"
        return self.labels(mark)

    def labels(self, mark: int = 0) -> list[str]:
        """Labels of the submissions whose grading started after event ``mark``, as seen so far."""
        with self.lock:
            return [e["label"] for e in self.events[mark:] if e["number"] >= 0]

    def hold(self) -> None:
        """From now on, make each grading task wait once it has logged its start (its event marked
        ``"held": True``), until :meth:`release`: the worker's only thread waits with it."""
        def install(dask_worker):
            log_event = dask_worker.log_event
            released = threading.Event()

            def log_then_wait(topic, msg):
                held = topic == TOPIC and isinstance(msg, dict) and msg.get("number", -1) >= 0
                log_event(topic, {**msg, "held": True} if held else msg)
                if held:
                    released.wait(HOLD_LIMIT)

            log_then_wait.release = released.set
            dask_worker.log_event = log_then_wait

        self.client.run(install)
        self.holding = True

    def release(self) -> None:
        """Let the held tasks go on, and hold nothing from now on."""
        def uninstall(dask_worker):
            held = vars(dask_worker).pop("log_event", None)
            if held is not None:
                held.release()

        self.client.run(uninstall)
        self.holding = False

    def close(self) -> None:
        if self.holding:
            self.release()
        self.client.close()


@pytest.fixture
def starts(cluster):
    s = Starts(cluster)
    yield s
    s.close()
    with Client(cluster.address, security=cluster.security, set_as_default=False) as client:
        client.wait_for_workers(2, timeout=120)  # killed workers are back (their nannies restart them)


def grade(class_dir: Path, out: Path, *extra: str, wait: bool = True):
    out.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "course_lib", "grade", "--source", SOURCE, "--json", str(out / "grades.json"),
           "--csv", str(out / "grades.csv"), "--feedback", str(out / "feedback"), *extra, str(class_dir)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if not wait:
        return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def local(class_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("local")
    grade(class_dir, out, "--jobs", "2")
    return out


def same_as_local(out: Path, local: Path) -> None:
    assert json.loads((out / "grades.json").read_text()) == json.loads((local / "grades.json").read_text())
    assert (out / "grades.csv").read_text() == (local / "grades.csv").read_text()
    pages = sorted(p.name for p in (local / "feedback").iterdir())
    assert sorted(p.name for p in (out / "feedback").iterdir()) == pages and len(pages) == N
    for name in pages:
        assert (out / "feedback" / name).read_text() == (local / "feedback" / name).read_text(), name
    assert not Path(f"{out / 'grades.json'}.journal").exists()


@pytest.fixture(scope="module")
def foreign(tmp_path_factory) -> Path:
    """Certificates an outsider made with the same command: another authority."""
    folder = tmp_path_factory.mktemp("foreign")
    make_certificates(folder)
    return folder


class NoCertificate(Security):
    """A client that checks the cluster's certificate but has none of its own to show."""

    def __init__(self, ca: Path):
        super().__init__(require_encryption=True)
        self.context = ssl.create_default_context(cafile=str(ca))
        self.context.check_hostname = False

    def get_connection_args(self, role):
        return {"ssl_context": self.context, "require_encryption": True, "extra_conn_args": {}}


def strangers(cluster, certs: Path, foreign: Path) -> dict[str, tuple[str, Security | None]]:
    """Address and security of each kind of client that must be kept out."""
    plain = cluster.address.replace("tls://", "tcp://")
    return {"no certificate": (cluster.address, NoCertificate(certs / "ca.pem")),
            "another authority's certificate": (cluster.address, Security(
                tls_ca_file=str(certs / "ca.pem"), tls_client_cert=str(foreign / "client.pem"),
                tls_client_key=str(foreign / "client.key"), require_encryption=True)),
            "another authority altogether": (cluster.address, Security(
                tls_ca_file=str(foreign / "ca.pem"), tls_client_cert=str(foreign / "client.pem"),
                tls_client_key=str(foreign / "client.key"), require_encryption=True)),
            "plain tcp": (plain, None),
            "a member": (cluster.address, cluster.security)}  # the control: the test can fail


@pytest.mark.parametrize("who", ["no certificate", "another authority's certificate",
                                 "another authority altogether", "plain tcp", "a member"])
def test_only_a_member_can_connect_and_run_anything(cluster, certs, foreign, who, tmp_path):
    address, security = strangers(cluster, certs, foreign)[who]
    ran = tmp_path / "ran"
    try:
        with Client(address, security=security, timeout=2, set_as_default=False) as client:
            client.run(ran.touch)
            client.submit(ran.touch, pure=False).result()
        connected = True
    except (OSError, TimeoutError):
        connected = False
    assert connected == ran.exists() == (who == "a member")


def answers(address: str, context: ssl.SSLContext | None) -> bool:
    """Whether ``address`` answers Dask's ``identity`` to a client with ``context`` (None: plain tcp)."""
    async def identity():
        args = {"ssl_context": context} if context else {}
        comm = await connect(address if context else address.replace("tls://", "tcp://"), timeout="2s", **args)
        try:
            await comm.write({"op": "identity"})
            return await comm.read()
        finally:
            await comm.close()

    try:  # in a thread of its own: the browser tests leave an event loop running in this one
        with ThreadPoolExecutor(1) as pool:
            return isinstance(pool.submit(asyncio.run, identity()).result(), dict)
    except (OSError, TimeoutError):
        return False


def test_every_port_is_on_loopback_and_answers_only_members(cluster, certs, foreign):
    procs = [psutil.Process(p.pid) for p in (cluster.scheduler, *cluster.workers)]
    procs += [child for proc in procs for child in proc.children(recursive=True)]
    listening = [c.laddr for proc in procs for c in proc.net_connections("inet") if c.status == psutil.CONN_LISTEN]
    assert len(listening) >= 7 and {a.ip for a in listening} == {"127.0.0.1"}, listening  # HTTP ports too
    with Client(cluster.address, security=cluster.security, set_as_default=False) as client:
        workers = client.scheduler_info()["workers"]
    addresses = [cluster.address, *workers, *(w["nanny"] for w in workers.values())]
    assert len(addresses) == 5 and all(a.startswith("tls://127.0.0.1:") for a in addresses)
    member = cluster.security.get_connection_args("client")["ssl_context"]
    no_cert = NoCertificate(certs / "ca.pem").context
    foreign_cert = Security(tls_ca_file=str(certs / "ca.pem"), tls_client_cert=str(foreign / "client.pem"),
                            tls_client_key=str(foreign / "client.key")).get_connection_args("client")["ssl_context"]
    for address in addresses:
        assert answers(address, member), address
        assert not any(answers(address, context) for context in (no_cert, foreign_cert, None)), address


def test_grade_refuses_plain_tcp_to_another_machine(capsys, tmp_path):
    for args, problem in ((["--scheduler", "tcp://192.0.2.1:8786"], "refusing plain tcp:// to 192.0.2.1"),
                          (["--scheduler", "192.0.2.1:8786"], "expected tls://HOST:PORT"),
                          (["--scheduler", "tls://192.0.2.1:8786"], "needs --tls DIR"),
                          (["--scheduler", "tls://192.0.2.1:8786", "--tls", str(tmp_path)], "has no ca.pem")):
        with pytest.raises(SystemExit) as exit_:
            main(["grade", "--source", SOURCE, *args, str(REPO / "exercises")])
        assert exit_.value.code == 2
        assert problem in capsys.readouterr().err


def test_a_worker_result_is_accepted_only_as_well_formed_json():
    report = reports.SubmissionReport("a.ipynb", 1.0, 2.0, 0.0, None,
                                      [reports.TestResult("t", 1.0, 2.0, "partial", "m")], ["note"], "ann", "ab")
    assert decode(encode(report, "<p>page</p>")) == (report, "<p>page</p>")
    with pytest.raises(TaskFailed, match="KeyError: 'x'"):
        decode(encode_failure(KeyError("x")))
    good = json.loads(encode(report, None))
    bad = [b"\x80\x04\x95", "a str", b"[]", b'{"report": {}, "page": null}',
           json.dumps({**good, "extra": 1}).encode(),
           json.dumps({**good, "report": {**good["report"], "score": "9"}}).encode(),
           json.dumps({**good, "report": {**good["report"], "score": True}}).encode(),
           json.dumps({**good, "report": {**good["report"], "score": float("nan")}}).encode(),
           json.dumps({**good, "report": {**good["report"], "notes": [1]}}).encode(),
           json.dumps({**good, "report": {**good["report"], "tests": [{**good["report"]["tests"][0],
                                                                       "status": "<b>"}]}}).encode()]
    for data in bad:
        with pytest.raises(ValueError):
            decode(data)


def test_only_well_formed_events_of_its_own_count_as_starts():
    """Any client of the cluster may log on the grader's topic: a message of another shape (an
    unhashable "flush", a "number" that is not an int) is ignored, not raised in the callback."""
    backend = DaskBackend.__new__(DaskBackend)  # the event handling alone, without a cluster
    backend.starts, backend.flushes = Counter(), {"mine": threading.Event()}
    for msg in [{"flush": ["mine"]}, {"flush": {"a": 1}}, {"flush": "theirs"}, {"number": "3"},
                {"number": True}, {"number": 3.0}, "text", None]:
        backend._event((0.0, msg))
    assert not backend.starts and not backend.flushes["mine"].is_set()
    backend._event((0.0, {"flush": "mine"}))
    for _ in range(3):
        backend._event((0.0, {"number": 3}))
    assert backend.flushes["mine"].is_set() and backend.retried == 2


def test_the_class_grades_to_identical_reports_over_tls(class_dir, local, cluster, remote, starts, tmp_path):
    done = grade(class_dir, tmp_path, *remote)
    same_as_local(tmp_path, local)
    assert sorted(starts.graded_since(0)) == sorted(f"student_{i:02d}" for i in range(1, N + 1))
    assert f"graded {N}, reused 0 finished earlier, retried 0, with errors 1" in done.stderr
    doc = json.loads((tmp_path / "grades.json").read_text())
    assert [s["score"] for s in doc["submissions"]][:5] == [7, 4, 6, 9, 9]  # the mix of classroom.py
    assert doc["submissions"][-1]["score"] == 9  # the attacker solved everything...
    page = (tmp_path / "feedback" / f"student_{N:02d}.html").read_text()
    assert "no scheduler: [Errno" in page  # ...and reached nothing (the phrase below is its code)
    assert page.count("REACHED THE SCHEDULER") == 1
    assert all(proc.poll() is None for proc in [cluster.scheduler, *cluster.workers])


def test_a_worker_killed_mid_run_loses_nothing_and_grades_nothing_twice(class_dir, local, remote, starts,
                                                                        tmp_path):
    starts.kill_when = lambda e: e["label"] == "student_04" and not starts.killed
    done = grade(class_dir, tmp_path, *remote)
    assert len(starts.killed) == 1
    graded = starts.graded_since(0)
    # The work lost with the killed worker is done again on the other: student_04, which it was
    # running, and possibly a task that finished there just before (its result not yet fetched).
    # Nothing is started more than twice, and nothing that ran on the surviving worker twice.
    first_pid: dict[str, int] = {}
    for event in starts.events:
        first_pid.setdefault(event["label"], event["pid"])
    again = sorted(label for label in set(graded) if graded.count(label) > 1)
    assert again, ("nothing was run again", starts.events)
    assert all(graded.count(label) == 2 and first_pid[label] == starts.killed[0] for label in again), \
        (again, starts.events)
    assert len(graded) == N + len(again), starts.events
    same_as_local(tmp_path, local)  # every submission once, graded as locally
    assert f"retried {len(again)}," in done.stderr


def test_an_interrupted_client_reruns_only_the_unfinished(class_dir, local, remote, starts, tmp_path):
    # Once three submissions are finished, every task that starts waits on its worker: the run
    # cannot finish before Ctrl-C. (Dask does not start tasks in the order they were submitted,
    # and a worker may have several queued, so which ones are held is known only from the events.)
    journal = tmp_path / "grades.json.journal"
    proc = grade(class_dir, tmp_path, *remote, wait=False)

    def until(reached: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + 300
        while not reached():
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()  # a failure, never a hang: communicate() waits for the process to end
                pytest.fail(f"the run did not reach {what}: start events {starts.events}, "
                            f"output {proc.communicate(timeout=60)}")
            time.sleep(0.05)

    until(lambda: journal.exists() and len(journal.read_text().splitlines()) >= 3, "3 finished")
    starts.hold()
    until(lambda: any(e.get("held") for e in list(starts.events)), "a held task")
    proc.send_signal(signal.SIGINT)  # Ctrl-C
    _, err = proc.communicate(timeout=120)
    # Let the held tasks go only once the scheduler has dropped the interrupted run's tasks: a
    # worker set free earlier could start one of those still queued there.
    def _grading_tasks(dask_scheduler) -> list[str]:  # run on the scheduler (sent by value)
        return [str(key) for key in dask_scheduler.tasks if str(key).startswith("grade-")]

    deadline = time.monotonic() + 120
    while left := starts.client.run_on_scheduler(_grading_tasks):
        assert time.monotonic() < deadline, f"the scheduler still holds {left}"
        time.sleep(0.1)
    starts.release()
    assert proc.returncode == 130, err
    assert "rerun the same command" in err
    assert not (tmp_path / "grades.json").exists()
    finished = {json.loads(line)["report"]["student"] for line in journal.read_text().splitlines()}
    held = {e["label"] for e in starts.events if e.get("held")}
    assert len(finished) >= 3 and held and finished.isdisjoint(held), (finished, starts.events)

    mark = len(starts.events)
    done = grade(class_dir, tmp_path, *remote)
    graded = starts.graded_since(mark)
    assert sorted(graded) == sorted(f"student_{i:02d}" for i in range(1, N + 1)
                                    if f"student_{i:02d}" not in finished)
    assert f"graded {N - len(finished)}, reused {len(finished)} finished earlier" in done.stderr
    same_as_local(tmp_path, local)

    mark = len(starts.events)
    again = grade(class_dir, tmp_path, *remote)  # nothing left to do
    assert starts.graded_since(mark) == []
    assert f"graded 0, reused {N} finished earlier" in again.stderr
    same_as_local(tmp_path, local)


def test_a_submission_that_kills_every_worker_is_reported_after_bounded_tries(class_dir, local, remote,
                                                                              starts, tmp_path):
    starts.kill_when = lambda e: e["label"] == "student_05"
    grade(class_dir, tmp_path, *remote)
    assert starts.graded_since(0).count("student_05") == ALLOWED_FAILURES + 1
    doc = json.loads((tmp_path / "grades.json").read_text())
    subs = {s["student"]: s for s in doc["submissions"]}
    assert subs["student_05"]["error"].startswith(f"not graded: each worker that tried to grade it died "
                                                  f"({ALLOWED_FAILURES + 1} tries")
    expected = {s["student"]: s for s in json.loads((local / "grades.json").read_text())["submissions"]}
    assert {k: v for k, v in subs.items() if k != "student_05"} == \
        {k: v for k, v in expected.items() if k != "student_05"}
    # Not kept as finished: the next run tries it again, and only it.
    mark = len(starts.events)
    starts.kill_when = lambda e: False
    grade(class_dir, tmp_path, *remote)
    assert starts.graded_since(mark) == ["student_05"]
    same_as_local(tmp_path, local)


def test_a_scheduler_nobody_runs_is_a_clear_error(class_dir, tmp_path):
    cmd = [sys.executable, "-m", "course_lib", "grade", "--source", SOURCE, "--scheduler", "tcp://127.0.0.1:9",
           str(class_dir)]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO), "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"})
    assert done.returncode == 1
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in done.stderr
    assert "dask scheduler" in done.stderr
