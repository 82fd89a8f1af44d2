"""One Jupyter kernel per submission: start it in a scratch folder, run code with a timeout, watch it die.

A cell that runs past its timeout is interrupted (SIGINT to the kernel's process group), not
killed, so later cells still run. A kernel that ignores the interrupt for ``interrupt_grace``
seconds, or that exits (``os._exit``, a segfault, the memory limit), ends the session.

Pass/fail comes from the kernel's own reports: the ``execute_reply`` status on the shell channel
and ``error`` messages on IOPub. Nothing the cell prints is parsed, and output is never kept:
IOPub is drained and only error names and values are recorded (cut to ``MESSAGE_CHARS``). The
guard caps every message the kernel sends at ``MAX_MESSAGE_BYTES``, so a cell printing 100 MB
costs the grader at most that much memory at a time.
"""
from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import zmq
from jupyter_client import KernelManager

from . import guard

MAX_MESSAGE_BYTES = 1 << 20
MESSAGE_CHARS = 500
_GUARD_SOURCE = Path(guard.__file__).read_text(encoding="utf-8")


@dataclass
class Outcome:
    """How one execute request ended.

    status: ``ok``; ``error`` (the code raised); ``timeout`` (interrupted after the timeout);
    ``dead`` (the kernel process exited); ``stuck`` (it ignored the interrupt).
    """

    status: str
    ename: str = ""
    evalue: str = ""
    user_expressions: dict = field(default_factory=dict)

    @property
    def first_line(self) -> str:
        """``Ename: first line of the value``, as a report shows a failure."""
        value = self.evalue.strip().splitlines()[0] if self.evalue.strip() else ""
        return f"{self.ename}: {value}" if value else self.ename


def _cut(text: str) -> str:
    return text if len(text) <= MESSAGE_CHARS else text[:MESSAGE_CHARS] + " [...]"


def kernel_env(workdir: Path) -> dict[str, str]:
    """The grader's environment minus what points back at the instructor's folders."""
    env = {k: v for k, v in os.environ.items() if k not in ("OLDPWD", "JPY_SESSION_NAME")}
    env["PWD"] = str(workdir)
    return env


class KernelSession:
    """A kernel running in ``workdir``; use as a context manager (the kernel is killed on exit)."""

    def __init__(self, workdir: Path, *, kernel_name: str = "python3",
                 startup_timeout: float = 120.0, interrupt_grace: float = 5.0):
        self.workdir, self.kernel_name = Path(workdir), kernel_name
        self.startup_timeout, self.interrupt_grace = startup_timeout, interrupt_grace
        self.km: KernelManager | None = None
        self.kc = None
        self.context = zmq.Context()  # one per session: sessions run in parallel threads
        self.guard_name = "_course_grader_" + secrets.token_hex(8)
        self.key = secrets.token_hex(16)

    def __enter__(self) -> KernelSession:
        try:
            self.km = KernelManager(kernel_name=self.kernel_name)
            self.km.start_kernel(cwd=str(self.workdir), env=kernel_env(self.workdir),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.kc = self.km.client(context=self.context)
            self.kc.start_channels(stdin=False, hb=False)
            self.kc.wait_for_ready(timeout=self.startup_timeout)
        except BaseException as err:
            self.__exit__()  # a half-started kernel must not outlive this session
            raise RuntimeError(f"kernel did not start: {err}") from None
        return self

    def __exit__(self, *exc) -> None:
        if self.kc is not None:
            self.kc.stop_channels()
        if self.km is not None:
            try:
                self.km.shutdown_kernel(now=True)
            except Exception:  # already gone; nothing left to clean
                pass
        self.context.destroy(linger=0)

    def start_guard(self, imports: list[str], memory_mb: int) -> Outcome:
        """Load :mod:`course_lib.grading.guard` into the kernel before any student code runs."""
        code = "\n".join([
            "import sys as _s, types as _t",
            f"_m = _s.modules[{self.guard_name!r}] = _t.ModuleType({self.guard_name!r})",
            f"exec(compile({_GUARD_SOURCE!r}, '<grader guard>', 'exec'), _m.__dict__)",
            f"_m.setup({self.key!r}, {json.dumps(imports)}, {MAX_MESSAGE_BYTES}, {memory_mb << 20})",
            "del _s, _t, _m",
        ])
        return self.execute(code, timeout=self.startup_timeout, silent=True)

    def run_instructor(self, source: str, label: str, n: int, timeout: float) -> tuple[Outcome, bool]:
        """Run an instructor cell through the guard; also say whether its receipt was right."""
        ref = f"__import__('sys').modules[{self.guard_name!r}]"
        outcome = self.execute(f"{ref}.run({source!r}, {label!r}, {n})", timeout=timeout,
                               user_expressions={"receipt": f"{ref}.receipt({n})"})
        got = outcome.user_expressions.get("receipt", {}).get("data", {}).get("text/plain")
        return outcome, got == repr(guard.receipt_for(self.key, label, n))

    def execute(self, code: str, timeout: float, *, silent: bool = False,
                user_expressions: dict | None = None) -> Outcome:
        """Run ``code``; interrupt it after ``timeout`` seconds."""
        kc, km = self.kc, self.km
        msg_id = kc.execute(code, silent=silent, store_history=not silent, allow_stdin=False,
                            user_expressions=user_expressions or {}, stop_on_error=False)
        poller = zmq.Poller()
        poller.register(kc.shell_channel.socket, zmq.POLLIN)
        poller.register(kc.iopub_channel.socket, zmq.POLLIN)
        deadline, interrupted_at = time.monotonic() + timeout, None
        reply, reply_at, idle, iopub_error = None, 0.0, False, None
        while reply is None or not (idle or time.monotonic() > reply_at + 1.0):
            now = time.monotonic()
            if reply is None and interrupted_at is None and now > deadline:
                km.interrupt_kernel()
                interrupted_at = now
            elif reply is None and interrupted_at is not None and now > interrupted_at + self.interrupt_grace:
                return Outcome("stuck")
            ready = dict(poller.poll(100))
            if kc.shell_channel.socket in ready:
                msg = kc.shell_channel.get_msg(timeout=0)
                if msg["parent_header"].get("msg_id") == msg_id:
                    reply, reply_at = msg, time.monotonic()
            for _ in range(100 if kc.iopub_channel.socket in ready else 0):
                if not kc.iopub_channel.msg_ready():
                    break
                msg = kc.iopub_channel.get_msg(timeout=0)
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                if msg["msg_type"] == "error":
                    iopub_error = msg["content"]
                elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                    idle = True
            if reply is None and not km.is_alive():
                return Outcome("dead")
        content = reply["content"]
        if interrupted_at is not None:
            return Outcome("timeout")
        error = content if content.get("status") != "ok" else iopub_error
        if error is not None:
            return Outcome("error", _cut(str(error.get("ename", "Error"))), _cut(str(error.get("evalue", ""))))
        return Outcome("ok", user_expressions=content.get("user_expressions") or {})

    def exit_description(self) -> str:
        """How the kernel process ended, e.g. ``exit code 3`` or ``killed by SIGSEGV``."""
        try:
            code = self.km.provisioner.process.poll()
        except AttributeError:
            return "exit status unknown"
        if code is None:
            return "still running"
        if code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exit code {code}"
