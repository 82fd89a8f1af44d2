"""Grading on a Dask cluster: ``grade --scheduler tls://HOST:8786 --tls DIR``, one task per submission.

Nothing is shared but the scheduler's address and the certificates (:mod:`.certs`): scheduler,
workers and client speak mutual TLS. The client (the instructor's machine) reads each
submission and sends its bytes as task data; a worker grades it in the same bubblewrap sandbox
as a local run (:func:`.single.grade_bytes`) and sends the report, and the feedback page when
asked for, back as JSON bytes that the client parses as untrusted data (:mod:`.wire`): no object
built by a task is ever unpickled here, not even an exception. The source's reference run is one
task too; its values, like the source's plan, stay on the cluster and go to the workers from
there (as task results, which the scheduler makes again if every worker holding them dies); the
client fetches only whether it passed. The client checks first that every worker runs the same
grader code and can make a sandbox.

Dask keeps the promises about lost work: a task whose worker dies (``kill -9``, out of memory)
is run again on another. Dask gives a task up (``KilledWorker``) once
``distributed.scheduler.allowed-failures`` + 1 workers (default 3 + 1) died while it was assigned
to them, even if it was only waiting there behind the task that killed them. So each task logs
an event when it really starts, and the client counts them per submission: a submission given
up by Dask that started fewer times than that is submitted again; one that started that many
times is reported as ``not graded`` instead of looping (it is likely what kills the workers).
Starts beyond the first count as retried. An interrupted client loses nothing finished: see
:mod:`.journal`.

:func:`local_cluster` starts a scheduler and workers on this machine with Dask's own commands,
as the README does by hand; the tests and ``benchmarks/grade_class.py`` use it.
"""
from __future__ import annotations

import contextlib
import json
import operator
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import CancelledError, Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from distributed import Client, get_worker
from distributed import Future as DaskFuture
from distributed.scheduler import KilledWorker

from .assemble import Plan
from .certs import client_security
from .journal import grader_code
from .backend import ClusterError
from .single import Graded, Options, SourceError, reference_bytes
from .sandbox import sandbox_problem
from .wire import TaskFailed, decode, encode, encode_failure

TOPIC = "course-lib-grading"


def _worker_state() -> bytes:
    """What the client checks on every worker before grading (JSON)."""
    return json.dumps({"grader": grader_code(), "sandbox": sandbox_problem(), "python": sys.executable}).encode()


def _parsed_state(raw: Any) -> dict:
    """A worker's answer to :func:`_worker_state` as a dict ({} when it is not one)."""
    try:
        state = json.loads(raw) if isinstance(raw, bytes) else None
    except ValueError:
        state = None
    return state if isinstance(state, dict) else {}


def _log_start(number: int, label: str) -> None:
    """Log on this worker that submission ``number`` (``label``; -1 for the reference run) started."""
    worker = get_worker()
    worker.log_event(TOPIC, {"number": number, "label": label, "pid": os.getpid(), "worker": worker.address})


def _grade_task(number: int, label: str, fn: Callable, *args: Any) -> bytes:
    """``fn(*args)``'s :class:`.single.Graded` as :mod:`.wire` bytes, run on a worker."""
    _log_start(number, label)
    try:
        graded = fn(*args)
    except Exception as err:  # noqa: BLE001 - sent as text: the client never unpickles an exception
        return encode_failure(err)
    return encode(graded.report, graded.page)


def _reference_task(plan: Plan, name: str, data: bytes, opts: Options) -> tuple[Any, bytes]:
    """The reference values (they stay on the cluster) and, as JSON bytes, why the source failed
    or the notes every report gets."""
    _log_start(-1, "reference run")
    try:
        values, notes = reference_bytes(plan, name, data, opts)
        return values, json.dumps({"notes": notes}).encode()
    except SourceError as err:
        return None, json.dumps({"source": str(err)}).encode()
    except Exception as err:  # noqa: BLE001 - sent as text, as in _grade_task
        return None, encode_failure(err)


def _identity(obj: Any) -> Any:
    return obj


class DaskBackend:
    """Grade on the cluster whose scheduler is at ``address`` (see :class:`.backend.Backend`)."""

    def __init__(self, address: str, opts: Options, security: Any = None, worker_timeout: float = 120.0):
        """Connect to ``address`` with ``security`` (a ``distributed.security.Security``, e.g.
        :func:`.certs.client_security`; None for plain tcp)."""
        try:
            # connect timeout: Dask's distributed.comm.timeouts.connect (default 30 s)
            self.client = Client(address, security=security, set_as_default=False)
        except (OSError, TimeoutError) as err:
            raise ClusterError(f"cannot reach the Dask scheduler at {address} ({err}); start one with "
                               f"'dask scheduler' and workers with 'dask worker {address}' (with the "
                               "certificates: see the README), or check that --tls has this cluster's") from None
        try:
            self._check(address, opts, worker_timeout)
        except BaseException:
            self.client.close()
            raise
        self.slots = sum(self.client.nthreads().values())
        self.starts: Counter[int] = Counter()  # by submission number
        self.given_up: Counter[int] = Counter()  # KilledWorker errors, by submission number
        self.flushes: dict[str, threading.Event] = {}  # settle()'s own events, until they are back
        self.client.subscribe_topic(TOPIC, self._event)

    def _check(self, address: str, opts: Options, worker_timeout: float) -> None:
        try:
            self.client.wait_for_workers(1, timeout=worker_timeout)
        except TimeoutError:
            raise ClusterError(f"no worker joined the scheduler at {address} within {worker_timeout:g} s; "
                               f"start some with 'dask worker {address}'") from None
        try:
            states = self.client.run(_worker_state)
        except Exception as err:  # noqa: BLE001 - whatever the workers raise, the fix is the same
            raise ClusterError(f"the workers cannot run the grader ({type(err).__name__}: {err}); install "
                               "the course on every worker: python -m pip install -e <course folder>") from None
        mine = grader_code()
        for worker, raw in sorted(states.items()):
            state = _parsed_state(raw)
            if state.get("grader") != mine:
                raise ClusterError(f"worker {worker} runs a different version of course_lib's grader "
                                   f"({str(state.get('python'))[:200]}); install the same course version "
                                   "on every worker")
            if opts.sandbox and state.get("sandbox"):
                raise ClusterError(f"worker {worker} cannot make a sandbox: {str(state['sandbox'])[:500]}; "
                                   "or pass --no-sandbox to grade without one (unsafe)")

    def _event(self, event: tuple[float, dict]) -> None:
        msg = event[1] if isinstance(event[1], dict) else {}
        token = msg.get("flush")
        if isinstance(token, str) and (flushed := self.flushes.get(token)) is not None:
            flushed.set()
        elif type(msg.get("number")) is int:
            self.starts[msg["number"]] += 1

    def settle(self, timeout: float = 60) -> None:
        """Wait (``timeout`` seconds at most) until the start events the scheduler has had all
        reached this client: it sends a subscriber its events in order, so an event logged now
        comes back after them. The last results can arrive before the start events of their
        tasks' second runs, which ``retried`` counts."""
        token = uuid.uuid4().hex
        self.flushes[token] = threading.Event()
        self.client.log_event(TOPIC, {"flush": token})
        self.flushes[token].wait(timeout)
        del self.flushes[token]

    @property
    def retried(self) -> int:
        return sum(n - 1 for n in list(self.starts.values()) if n > 1)

    def reference(self, plan: Plan, name: str, data: bytes, opts: Options) -> tuple[Any, list[str]]:
        run = self.client.submit(_reference_task, plan, name, data, opts, key=f"reference-{uuid.uuid4()}")
        outcome = self.client.submit(operator.itemgetter(1), run, key=f"reference-outcome-{uuid.uuid4()}")
        try:
            why = json.loads(outcome.result())
        except ValueError:
            why = None
        if not isinstance(why, dict) or not all(isinstance(n, str) for n in why.get("notes", [])):
            why = {"failed": "the reference run sent back a malformed result"}
        if why.get("source") or why.get("failed"):  # raises here when the source fails
            error = SourceError if why.get("source") else ClusterError
            raise error(str(why.get("source") or f"the reference run failed on the cluster ({why['failed']})"))
        # the values stay on the cluster; workers fetch them from there
        values = self.client.submit(operator.itemgetter(0), run, key=f"reference-values-{uuid.uuid4()}")
        return values, list(why.get("notes", []))

    def share(self, obj: Any) -> Any:
        # A task that returns obj, not scattered data: if every worker holding it dies, the
        # scheduler makes it again instead of failing the tasks that need it.
        return self.client.submit(_identity, obj, key=f"shared-{uuid.uuid4()}")

    def submit(self, number: int, label: str, fn: Callable, *args: Any) -> Future:
        task = self.client.submit(_grade_task, number, label, fn, *args, key=f"grade-{number}-{uuid.uuid4()}")
        out: Future = Future()

        def collect(task: DaskFuture) -> None:
            # Release the task as soon as its result is here: a worker dying later must not make
            # the scheduler grade it again to restore a result nobody needs.
            try:
                if task.status == "cancelled":
                    out.set_exception(CancelledError())
                else:
                    out.set_result(Graded(*decode(task.result())))
            except Exception as err:  # noqa: BLE001 - the task's failure, handed on as data
                out.set_exception(err)
            finally:
                task.release()

        task.add_done_callback(collect)
        return out

    def failure(self, number: int, err: BaseException) -> str | None:
        if isinstance(err, KilledWorker):
            tries = err.allowed_failures + 1
            self.given_up[number] += 1
            time.sleep(0.5)  # the start events travel through the scheduler too
            if self.starts[number] < tries and self.given_up[number] < tries:
                return None  # it was waiting behind the task that killed its workers: try again
            return (f"each worker that tried to grade it died ({tries} tries, the scheduler's "
                    "distributed.scheduler.allowed-failures + 1): it may be what kills them")
        if isinstance(err, CancelledError):
            raise ClusterError("the cluster dropped the grading tasks (lost connection to the scheduler?); "
                               "rerun the same command: finished results are kept") from None
        if isinstance(err, TaskFailed):
            return f"the grader failed on this submission on the cluster ({err})"
        if isinstance(err, ValueError):
            return f"the cluster sent back a malformed result ({str(err)[:300]})"
        return f"the task failed on the cluster ({type(err).__name__}: {err})"

    def close(self) -> None:
        self.client.close()


@dataclass
class LocalCluster:
    """A scheduler and workers started by :func:`local_cluster`; each worker is a ``dask worker``
    process (a nanny that restarts its worker process if that dies)."""

    address: str
    scheduler: subprocess.Popen
    workers: list[subprocess.Popen]
    security: Any = None  # the client's, for a cluster started with certificates


def _stop(proc: subprocess.Popen) -> None:
    """Stop ``proc`` and every process of its session."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(wait)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # the session's leftovers
            return
        except subprocess.TimeoutExpired:
            continue


@contextlib.contextmanager
def local_cluster(workers: int = 2, threads: int = 1, env: dict[str, str] | None = None,
                  log_dir: str | Path | None = None, timeout: float = 120.0,
                  tls: str | Path | None = None) -> Iterator[LocalCluster]:
    """Start ``dask scheduler`` on 127.0.0.1 (a free port) and ``workers`` ``dask worker``
    processes of ``threads`` threads each, every port (HTTP ones too) on 127.0.0.1; stop them all
    on exit, even after an error.

    ``tls``: a folder made by :func:`.certs.make_certificates`; the cluster then speaks mutual TLS
    only (as the README's commands) and ``.security`` is the client's. ``env`` is added to their
    environment (e.g. ``DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES``); their output goes to
    ``log_dir`` (default: a temporary folder)."""
    env = {**os.environ, **(env or {})}
    dask = [sys.executable, "-m", "dask"]
    local = ["--host", "127.0.0.1", "--no-dashboard", "--dashboard-address", "127.0.0.1:0"]
    if tls:
        local += ["--tls-ca-file", str(Path(tls, "ca.pem")), "--tls-cert", str(Path(tls, "node.pem")),
                  "--tls-key", str(Path(tls, "node.key"))]
    security = client_security(tls) if tls else None
    procs: list[subprocess.Popen] = []
    with contextlib.ExitStack() as stack:
        folder = Path(log_dir) if log_dir else Path(stack.enter_context(tempfile.TemporaryDirectory()))
        folder.mkdir(parents=True, exist_ok=True)
        address_file = folder / "scheduler.json"
        address_file.unlink(missing_ok=True)

        def start(args: list[str], log: str) -> subprocess.Popen:
            with open(folder / log, "wb") as out:
                proc = subprocess.Popen(dask + args, env=env, stdout=out, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
            procs.append(proc)
            return proc

        try:
            scheduler = start(["scheduler", *local, "--port", "0", "--scheduler-file", str(address_file)],
                              "scheduler.log")
            deadline = time.monotonic() + timeout
            while not address_file.exists() or not address_file.read_text().strip():
                if scheduler.poll() is not None or time.monotonic() > deadline:
                    raise ClusterError(f"dask scheduler did not start; see {folder / 'scheduler.log'}")
                time.sleep(0.1)
            address = json.loads(address_file.read_text())["address"]
            started = [start(["worker", address, *local, "--nthreads", str(threads), "--name", f"worker-{i}"],
                             f"worker-{i}.log") for i in range(workers)]
            with Client(address, timeout=timeout, security=security, set_as_default=False) as client:
                client.wait_for_workers(workers, timeout=timeout)
            yield LocalCluster(address, scheduler, started, security)
        finally:
            for proc in reversed(procs):
                _stop(proc)
