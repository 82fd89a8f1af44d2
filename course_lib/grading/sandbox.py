"""One submission's cells run in a worker process inside an operating-system sandbox.

The sandbox is bubblewrap (``bwrap``): new user, PID, network, IPC, UTS, mount and cgroup
namespaces. Inside, the worker (:mod:`.worker`) sees:

* read-only: ``/usr`` (and the ``/bin``, ``/lib``… links into it), the Python installation that
  runs it, the ``course_lib`` package (alone, at ``/opt/course_lib``), the course data folder;
* writable, size-capped tmpfs, gone when the sandbox ends: its working folder ``/home/student``
  (with a copy of its submission), ``/tmp`` and ``/dev/shm``;
* its own ``/proc`` (only its own processes), its own loopback network and nothing else:
  no source notebook, no repository, no other submission, no report, no home folder, no grader.

It runs as an unprivileged user with no capabilities and an environment built from an
allow-list. It talks to the grader over two pipes created for it alone. Limits: address space,
processes, file size, CPU seconds (rlimits, set before any student code runs) and, when the
grader may create cgroups (root, or a delegated cgroup v2 tree), a cgroup that caps the memory
of all its processes together, tmpfs files and shared memory included, their number, and their
CPU (one CPU for all of them, where the cpu controller is available).

The worker is PID 1 of its namespace: when it ends, or the grader kills it, the kernel kills
every process it started, whatever they did to detach.

``isolate=False`` runs the same worker as a plain subprocess (``--no-sandbox``, and the
student's own ``check``): same protocol and limits where they apply, no namespaces.
"""
from __future__ import annotations

import base64
import json
import os
import secrets
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import course_lib

WORKER = Path(__file__).with_name("worker.py")
PACKAGE_DIR = Path(course_lib.__file__).resolve().parent
INNER_LIB = "/opt/course_lib"
INNER_HOME = "/home/student"
PASS_ENV = ("LANG", "LC_ALL", "TZ", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
INTERRUPT_EVERY = 0.5  # seconds between the SIGINTs to a cell that has not answered (Sandbox._interrupt)
LAUNCH = "import runpy, sys; runpy.run_path(sys.argv[1], run_name='__main__')"


class SandboxError(RuntimeError):
    """The sandbox could not be made or the worker could not start; the message says why."""


@dataclass(frozen=True)
class Limits:
    """Per-submission limits. Memory and scratch sizes in MB; ``cpu_seconds`` 0 means none."""

    memory_mb: int = 4096
    scratch_mb: int = 256
    processes: int = 64
    file_mb: int = 64
    cpu_seconds: int = 0
    message_mb: int = 16


@dataclass
class Reply:
    """How one cell ended: ``ok`` or ``error`` (as the worker says), or, decided by the grader,
    ``timeout`` (interrupted), ``stuck`` (ignored the interrupt), ``dead`` (the worker is gone),
    ``protocol`` (it answered with something that is not a valid frame)."""

    status: str
    data: dict
    why: str = ""


def sandbox_problem() -> str | None:
    """None when submissions can be sandboxed here; otherwise what is missing and how to get it."""
    if not sys.platform.startswith("linux"):
        return (f"the sandbox needs Linux (this is {sys.platform}); grade in a Linux container or "
                "VM (see README, 'Grading on a laptop without Linux')")
    if shutil.which("bwrap") is None:
        return ("bubblewrap is not installed: 'sudo apt-get install bubblewrap' (Debian/Ubuntu), "
                "'sudo dnf install bubblewrap' (Fedora)")
    probe = subprocess.run(["bwrap", *_isolation_args(), "--ro-bind", "/", "/", "--proc", "/proc",
                            "--dev", "/dev", "true"], capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        return ("bubblewrap cannot create namespaces here: " + probe.stderr.strip()[:300]
                + ". Enable unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1;"
                  " on Ubuntu 24.04 the bwrap AppArmor profile), or grade as root in a container")
    return None


def _isolation_args() -> list[str]:
    return ["--unshare-all", "--unshare-user", "--uid", "65534", "--gid", "65534",
            "--die-with-parent", "--new-session", "--cap-drop", "ALL"]


@lru_cache(maxsize=8)
def python_paths(python: str) -> tuple[str, ...]:
    """Folders the interpreter ``python`` needs, read-only: its prefixes and site-packages."""
    code = ("import sys, json; print(json.dumps([sys.prefix, sys.base_prefix, sys.exec_prefix, "
            "sys.base_exec_prefix] + sys.path))")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": tempfile.gettempdir()}
    try:
        out = subprocess.run([python, "-c", code], capture_output=True, text=True, env=env,
                             timeout=60, cwd=tempfile.gettempdir())
        found = json.loads(out.stdout)
    except (OSError, ValueError, subprocess.TimeoutExpired) as err:
        raise SandboxError(f"cannot run the grading interpreter {python}: {err}") from None
    prefixes = [Path(p).resolve() for p in found[:4]]
    keep: list[str] = []
    for entry in found[4:]:
        path = Path(entry).resolve() if entry else None
        if path is None or not path.is_dir() or path in (Path("/"), Path(tempfile.gettempdir())):
            continue
        if (path / "course_lib").is_dir() and not any(p in path.parents for p in prefixes):
            continue  # a checkout on sys.path (editable install): only the package is shown
        keep.append(str(path))
    keep += [str(p) for p in prefixes if p.is_dir()]
    exe = Path(python if os.sep in python else shutil.which(python) or python).resolve()
    keep.append(str(exe.parent))
    return tuple(sorted(set(keep)))


CPU_PERIOD_US = 100_000


def _sweep(root: Path) -> None:
    """Remove the cgroups left by graders that were killed (their PID is in the name), killing
    what is still in them first (e.g. a sandbox's outer bwrap whose grader died by SIGKILL)."""
    for parent in (root, root / "memory", root / "pids", root / "cpu"):
        for d in parent.glob("course-grader-*-*") if parent.is_dir() else ():
            pid = d.name.split("-")[2]
            if pid.isdigit() and not Path(f"/proc/{pid}").exists():
                try:
                    for left in (d / "cgroup.procs").read_text().split():
                        os.kill(int(left), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
                for _ in range(20):
                    try:
                        d.rmdir()
                        break
                    except FileNotFoundError:
                        break
                    except OSError:  # not empty yet, or not ours to remove
                        time.sleep(0.05)


class _Cgroup:
    """A cgroup capping memory (with tmpfs and shared memory), processes and CPU, where allowed."""

    def __init__(self, memory_bytes: int, pids: int):
        self.dirs: list[Path] = []
        name = f"course-grader-{os.getpid()}-{secrets.token_hex(4)}"
        root = Path("/sys/fs/cgroup")
        _sweep(root)
        try:
            if (root / "cgroup.controllers").exists():  # cgroup v2
                d = root / name
                d.mkdir()
                self.dirs = [d]
                (d / "memory.max").write_text(str(memory_bytes))
                (d / "memory.swap.max").write_text("0")
                (d / "pids.max").write_text(str(pids))
            elif os.access(root / "memory", os.W_OK) and os.access(root / "pids", os.W_OK):  # v1
                mem, pid = root / "memory" / name, root / "pids" / name
                mem.mkdir()
                self.dirs = [mem]
                pid.mkdir()
                self.dirs.append(pid)
                (mem / "memory.limit_in_bytes").write_text(str(memory_bytes))
                try:
                    (mem / "memory.memsw.limit_in_bytes").write_text(str(memory_bytes))
                except OSError:  # no swap accounting
                    pass
                (pid / "pids.max").write_text(str(pids))
        except OSError:
            self.remove()
        if self.dirs:
            self._cpu(root, name)

    def _cpu(self, root: Path, name: str) -> None:
        """At most one CPU, in a group of its own: however many processes a submission starts,
        they compete with the other sandboxes as one (a fork bomb must not starve classmates)."""
        try:
            if (root / "cgroup.controllers").exists():
                (self.dirs[0] / "cpu.max").write_text(f"{CPU_PERIOD_US} {CPU_PERIOD_US}")
            elif os.access(root / "cpu", os.W_OK):
                cpu = root / "cpu" / name
                cpu.mkdir()
                self.dirs.append(cpu)
                (cpu / "cpu.cfs_period_us").write_text(str(CPU_PERIOD_US))
                (cpu / "cpu.cfs_quota_us").write_text(str(CPU_PERIOD_US))
        except OSError:  # no cpu controller here: the scheduler alone shares the CPUs
            pass

    def wrap(self, argv: list[str]) -> list[str]:
        """``argv`` started inside the cgroup (the shell joins it, then execs)."""
        if not self.dirs:
            return argv
        joins = "; ".join(f"echo $$ > {d / 'cgroup.procs'}" for d in self.dirs)
        return ["/bin/sh", "-c", f'{joins}; exec "$0" "$@"', *argv]

    def remove(self) -> None:
        for d in self.dirs:
            for _ in range(50):  # processes of a killed namespace take a moment to go
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)
        self.dirs = []


class _Tail(threading.Thread):
    """Reads the sandbox's stderr to the end, keeping the last few KB for error messages."""

    def __init__(self, stream):
        super().__init__(daemon=True)
        self.stream, self.text = stream, b""

    def run(self) -> None:
        for chunk in iter(lambda: self.stream.read1(65536), b""):
            self.text = (self.text + chunk)[-4096:]


class Sandbox:
    """A worker in its own sandbox; a context manager (everything in it is killed on exit).

    ``files`` (name -> bytes) are written into its working folder before anything runs.
    """

    def __init__(self, *, files: dict[str, bytes], limits: Limits = Limits(),
                 python: str = sys.executable, isolate: bool = True, grading: bool = True,
                 startup_timeout: float = 120.0, interrupt_grace: float = 5.0):
        self.files, self.limits, self.python = files, limits, python
        self.isolate, self.grading = isolate, grading
        self.startup_timeout, self.interrupt_grace = startup_timeout, interrupt_grace
        self.proc: subprocess.Popen | None = None
        self.pid: int | None = None  # the worker's PID as the grader sees it
        self.cgroup: _Cgroup | None = None
        self.scratch: tempfile.TemporaryDirectory | None = None
        self.buffer = bytearray()  # appended to in place: a 32 MB message in 64 KB reads stays linear

    # ----- starting and stopping -------------------------------------------------------------
    def _env(self, home: str, lib: str) -> dict[str, str]:
        env = {k: os.environ[k] for k in PASS_ENV if k in os.environ}
        env.update(PATH="/usr/local/bin:/usr/bin:/bin", HOME=home, USER="student",
                   LOGNAME="student", TMPDIR="/tmp" if self.isolate else home,
                   MPLBACKEND="Agg", MPLCONFIGDIR=f"{home}/.matplotlib",
                   IPYTHONDIR=f"{home}/.ipython", PYTHONPATH=lib, PYTHONDONTWRITEBYTECODE="1",
                   PYTHONHASHSEED="0", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
                   MKL_NUM_THREADS="1", COURSE_CACHE_DIR=f"{home}/.cache")
        env.setdefault("LANG", "C.UTF-8")
        data = os.environ.get("COURSE_DATA_DIR")
        if data and Path(data).is_dir():
            env["COURSE_DATA_DIR"] = str(Path(data).resolve())
        if self.grading:
            env["NBGRADER_EXECUTION"] = "autograde"
        return env

    def _bwrap_argv(self, info_fd: int, fds: tuple[int, int]) -> list[str]:
        size = str(self.limits.scratch_mb << 20)
        argv = ["bwrap", *_isolation_args(), "--as-pid-1", "--info-fd", str(info_fd),
                "--proc", "/proc", "--dev", "/dev", "--size", size, "--tmpfs", "/dev/shm",
                "--size", size, "--tmpfs", "/tmp", "--size", size, "--tmpfs", INNER_HOME]
        for top in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            path = Path("/") / top
            if path.is_symlink():
                argv += ["--symlink", os.readlink(path), str(path)]
            elif path.is_dir():
                argv += ["--ro-bind", str(path), str(path)]
        argv += ["--ro-bind", "/usr", "/usr"]
        for name in ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "alternatives",
                     "fonts", "ssl", "mime.types"):
            if (Path("/etc") / name).exists():
                argv += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
        for path in python_paths(self.python):
            argv += ["--ro-bind", path, path]
        argv += ["--ro-bind", str(PACKAGE_DIR), f"{INNER_LIB}/course_lib"]
        data = os.environ.get("COURSE_DATA_DIR")
        if data and Path(data).is_dir():
            argv += ["--ro-bind", str(Path(data).resolve()), str(Path(data).resolve())]
        argv += ["--remount-ro", "/", "--chdir", INNER_HOME, "--clearenv"]
        for key, value in self._env(INNER_HOME, INNER_LIB).items():
            argv += ["--setenv", key, value]
        worker = f"{INNER_LIB}/course_lib/grading/worker.py"
        return argv + [self.python, "-c", LAUNCH, worker, *map(str, fds)]

    def _limits_spec(self) -> dict:
        mb = 1 << 20
        spec = {"RLIMIT_AS": self.limits.memory_mb * mb or None, "RLIMIT_CORE": 0,
                "RLIMIT_FSIZE": self.limits.file_mb * mb,
                "RLIMIT_CPU": self.limits.cpu_seconds or None}
        if self.isolate:  # counted per user: outside a user namespace it would count the grader's
            spec["RLIMIT_NPROC"] = self.limits.processes
        return spec

    def __enter__(self) -> Sandbox:
        from_grader, to_worker = os.pipe()  # (read end, write end)
        from_worker, to_grader = os.pipe()
        info_r, info_w = os.pipe()
        inner = (from_grader, to_grader)  # the worker's two ends
        try:
            if self.isolate:
                if self.limits.memory_mb:
                    self.cgroup = _Cgroup(self.limits.memory_mb << 20, self.limits.processes)
                argv = self._bwrap_argv(info_w, inner)
                argv = self.cgroup.wrap(argv) if self.cgroup else argv
                cwd, env, keep = "/", {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, (*inner, info_w)
            else:
                self.scratch = tempfile.TemporaryDirectory(prefix="course-grade-")
                cwd = self.scratch.name
                env = self._env(cwd, str(PACKAGE_DIR.parent))
                argv = [self.python, "-c", LAUNCH, str(WORKER), *map(str, inner)]
                keep = inner
            self.proc = subprocess.Popen(argv, cwd=cwd, env=env, pass_fds=keep,
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.PIPE, start_new_session=True)
        except OSError as err:
            for fd in (to_worker, from_grader, from_worker, to_grader, info_r, info_w):
                os.close(fd)
            self.__exit__()
            raise SandboxError(f"cannot start the sandbox: {err}") from None
        for fd in (*inner, info_w):
            os.close(fd)
        self.to_worker, self.from_worker = to_worker, from_worker
        os.set_blocking(to_worker, False)  # _send waits with a deadline, never forever
        self.stderr = _Tail(self.proc.stderr)
        self.stderr.start()
        try:
            if self.isolate:
                self.pid = int(self._read_info(info_r)["child-pid"])
            else:
                self.pid = self.proc.pid
            os.close(info_r)
            if not self._send({"op": "start", "limits": self._limits_spec(),
                               "files": {n: base64.b64encode(b).decode() for n, b in self.files.items()}},
                              self.startup_timeout):
                raise SandboxError("the worker did not read its start message" + self._stderr_note())
            ready = self._receive(time.monotonic() + self.startup_timeout)
            if ready.status != "ok" or ready.data.get("op") != "ready":
                raise SandboxError(f"the worker did not start ({ready.why or ready.status})"
                                   + self._stderr_note())
        except BaseException:
            self.__exit__()
            raise
        return self

    def _read_info(self, fd: int) -> dict:
        deadline, data = time.monotonic() + self.startup_timeout, b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                chunk = os.read(fd, 4096)
                data += chunk
                try:
                    return json.loads(data)
                except ValueError:
                    if not chunk:
                        break
            elif self.proc.poll() is not None:
                break
        os.close(fd)
        raise SandboxError("bubblewrap did not start the sandbox" + self._stderr_note())

    def _stderr_note(self) -> str:
        if self.proc is not None and self.proc.poll() is not None:
            self.stderr.join(timeout=2)
        text = self.stderr.text.decode(errors="replace").strip() if hasattr(self, "stderr") else ""
        return f": {text[-1500:]}" if text else ""

    def kill(self) -> None:
        """End the worker and everything it started."""
        if self.proc is None:
            return
        if self.pid is not None and self.proc.poll() is None:
            try:
                if self.isolate:
                    os.kill(self.pid, signal.SIGKILL)  # PID 1 of the namespace: takes all with it
                else:
                    os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()

    def __exit__(self, *exc) -> None:
        self.kill()
        for name in ("to_worker", "from_worker"):
            fd = getattr(self, name, None)
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
                setattr(self, name, None)
        if self.cgroup is not None:
            self.cgroup.remove()
        if self.scratch is not None:
            self.scratch.cleanup()

    # ----- talking to the worker -------------------------------------------------------------
    def _send(self, obj: dict, timeout: float) -> bool:
        """Write one frame; False when the worker has not taken it within ``timeout`` seconds
        (it stopped reading: a blocking write would hang the grader for good)."""
        data = json.dumps(obj).encode()
        view = memoryview(struct.pack(">Q", len(data)) + data)
        deadline = time.monotonic() + timeout
        try:
            while view:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                _, ready, _ = select.select([], [self.to_worker], [], min(left, 0.5))
                if ready:
                    try:
                        view = view[os.write(self.to_worker, view):]
                    except BlockingIOError:
                        pass
        except OSError:
            pass  # the worker is gone; the next receive says so
        return True

    def _receive(self, deadline: float) -> Reply:
        """The next frame from the worker, or why there is none before ``deadline``."""
        cap = self.limits.message_mb << 20
        while True:
            if len(self.buffer) >= 8:
                (size,) = struct.unpack(">Q", self.buffer[:8])
                if size > cap:
                    return Reply("protocol", {}, f"the worker sent a {size >> 20} MB message "
                                                 f"(the limit is {self.limits.message_mb} MB)")
                if len(self.buffer) >= 8 + size:
                    raw = bytes(self.buffer[8:8 + size])
                    del self.buffer[:8 + size]
                    try:
                        frame = json.loads(raw)
                    except (ValueError, RecursionError):
                        return Reply("protocol", {}, "the worker sent a message that is not JSON")
                    if not isinstance(frame, dict):
                        return Reply("protocol", {}, "the worker sent a malformed message")
                    return Reply("ok", frame)
            left = deadline - time.monotonic()
            if left <= 0:
                return Reply("timeout", {})
            ready, _, _ = select.select([self.from_worker], [], [], min(left, 0.5))
            if ready:
                chunk = os.read(self.from_worker, 1 << 20)
                if not chunk:
                    return Reply("dead", {}, self.exit_description())
                self.buffer += chunk

    def run(self, code: str, timeout: float, *, observe: bool = True) -> Reply:
        """Run one cell; interrupt it after ``timeout`` seconds; kill the worker if it ignores that."""
        if not self._send({"op": "run", "code": code, "observe": observe}, timeout):
            return Reply("protocol", {}, "it stopped reading the grader's messages")
        reply = self._receive(time.monotonic() + timeout)
        if reply.status == "timeout":
            late = self._interrupt()
            if late.status == "ok":
                return Reply("timeout", late.data)
            return Reply("stuck" if late.status == "timeout" else late.status, {}, late.why)
        if reply.status == "ok" and reply.data.get("op") != "done":
            return Reply("protocol", {}, "the worker answered out of turn")
        if reply.status == "ok":
            return Reply("error" if reply.data.get("status") != "ok" else "ok", reply.data)
        return reply

    def _interrupt(self) -> Reply:
        """Interrupt the running cell (SIGINT, as Jupyter does) and wait ``interrupt_grace``
        seconds for the worker's reply; ``timeout`` when none came.

        The worker drops a SIGINT that lands before it has entered the cell, which happens when a
        short limit (what is left of the deadline) runs out while a busy machine, or the
        submission's own processes, keep it from starting the cell. So the signal is sent again
        every ``INTERRUPT_EVERY`` seconds of the grace: only a cell that ignores them all is stuck."""
        end = time.monotonic() + self.interrupt_grace
        while True:
            try:
                os.kill(self.pid, signal.SIGINT)
            except ProcessLookupError:
                pass
            late = self._receive(min(end, time.monotonic() + INTERRUPT_EVERY))
            if late.status != "timeout" or time.monotonic() >= end:
                return late

    def exit_description(self) -> str:
        """How the worker ended, as far as the grader can tell."""
        if self.proc is None:
            return "not started"
        try:
            code = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return "it closed its channel to the grader"
        if code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        if self.isolate and code >= 128 and code - 128 in signal.Signals._value2member_map_:
            return f"killed by {signal.Signals(code - 128).name}"
        return f"exit code {code}"
