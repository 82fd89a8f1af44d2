"""What every benchmark needs besides its own measurements: the machine it ran on, and a results
file that is never left half written and says what the run cost.

    from benchmarks.common import machine, write_json
    write_json(RESULTS, {"machine": machine(), "runs": runs})

* :func:`machine` reads the facts from the running system, so a results file says where its
  numbers came from without anyone typing it (and a run resumed elsewhere says so too);
* :func:`write_json` replaces the file in one step (a temporary file beside it, then a rename), so
  a benchmark killed mid-write leaves the previous version, never a truncated one. A dict is
  written with a ``"run"`` entry, :func:`run_stamp`: what the run has cost so far, which
  ``benchmarks/costs.py`` reads (so no benchmark may use that key for its own data).
"""
from __future__ import annotations

import functools
import json
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

# When this module was imported: in a benchmark, right after its own imports, so "the run".
_START = time.monotonic()
_STARTED = time.strftime("%Y-%m-%d %H:%M:%S")


@functools.cache  # reading /proc/cpuinfo samples every core's clock: ~0.1 s on a VM
def _cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    """Facts about this machine and software, read from the system:

    ``cpu`` (model name), ``cores`` (``os.cpu_count()``), ``torch_threads``
    (``torch.get_num_threads()`` at the call: set the threads first), ``torch``, ``numpy``,
    ``python`` (versions) and ``platform`` (OS and kernel). torch and numpy are imported here, so
    a benchmark that needs neither still gets the rest.
    """
    facts = {"cpu": _cpu_model(), "cores": os.cpu_count(), "torch_threads": None, "torch": None,
             "numpy": None, "python": platform.python_version(), "platform": platform.platform()}
    try:
        import numpy
        facts["numpy"] = numpy.__version__
        import torch
        facts["torch"], facts["torch_threads"] = torch.__version__, torch.get_num_threads()
    except ImportError:
        pass
    return facts


def run_stamp() -> dict:
    """What this process has cost so far: ``cpu_s``, the CPU seconds of all its threads
    (``time.process_time()``) plus those of its finished children (``RUSAGE_CHILDREN``: worker
    processes and Jupyter kernels, once they have exited and been waited for); ``wall_s``, the
    seconds since this module was imported; and ``started``, the date and time of that import,
    which tells the files one process wrote (``lesson_full.py``'s lessons) from another's."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"cpu_s": round(time.process_time() + children.ru_utime + children.ru_stime, 1),
            "wall_s": round(time.monotonic() - _START, 1), "started": _STARTED}


def write_json(path: str | os.PathLike, obj: object) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically: readers see the old file or the new
    one, never a part. Parent folders are created. A dict is written with its ``"run"`` entry set
    to :func:`run_stamp` (``obj`` itself is left as it is)."""
    if isinstance(obj, dict):
        obj = {**obj, "run": run_stamp()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)  # mkstemp's 0o600 would hide the results from other users
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(obj, indent=1) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
