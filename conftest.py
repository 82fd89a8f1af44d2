"""Settings every test run needs, wherever pytest is started from.

* Real data: ``COURSE_DATA_DIR`` defaults to ``../shared/data`` when that folder exists (unset or
  empty, as the loaders read it).
* nbval's sanitize file is found from any working folder.
* Jupyter, IPython and matplotlib keep their state in a temp dir, so a run never
  reads or writes the home directory; parsed-data caches go there too.
* One BLAS thread, so notebook numbers match the stored ones and a busy machine cannot
  stall a test.
* Kernels started by nbval inherit ``PYTHONPATH`` so they import this checkout's
  ``course_lib`` rather than an installed copy.
* The grader's sandbox needs bubblewrap: installed with apt when missing and we are root (CI's
  fresh machines); otherwise the grading tests say how to install it.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
_TMP: str | None = None


def _ensure_bubblewrap() -> None:
    if shutil.which("bwrap") or not shutil.which("apt-get") or os.geteuid() != 0:
        return
    subprocess.run("apt-get update -qq && apt-get install -y -qq bubblewrap", shell=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=900)


def pytest_configure(config) -> None:
    global _TMP
    # addopts names the nbval sanitize file relative to the repository: find it from any folder
    # (`cd exercises && pytest --nbval-lax 01_softmax_cross_entropy.ipynb`).
    sanitize = getattr(config.option, "nbval_sanitize_with", None)
    if sanitize and not os.path.isabs(sanitize) and not os.path.exists(sanitize):
        config.option.nbval_sanitize_with = str(ROOT / sanitize)
    _ensure_bubblewrap()
    _TMP = tempfile.mkdtemp(prefix="course-tests-")
    tmp = Path(_TMP)
    shared = ROOT.parent / "shared" / "data"
    if not os.environ.get("COURSE_DATA_DIR") and shared.is_dir():
        os.environ["COURSE_DATA_DIR"] = str(shared)
    # A cache that outlives one run would hide a parsing bug; a fresh one per run does not.
    os.environ.setdefault("COURSE_CACHE_DIR", str(tmp / "cache"))
    for var, sub in [("IPYTHONDIR", "ipython"), ("MPLCONFIGDIR", "matplotlib"),
                     ("JUPYTER_CONFIG_DIR", "jupyter/config"), ("JUPYTER_DATA_DIR", "jupyter/data"),
                     ("JUPYTER_RUNTIME_DIR", "jupyter/runtime")]:
        os.environ[var] = str(tmp / sub)
        (tmp / sub).mkdir(parents=True, exist_ok=True)
    os.environ["JUPYTER_PLATFORM_DIRS"] = "1"
    # One BLAS/OpenMP thread: stored notebook numbers were computed that way (thread count moves
    # float sums by ~1e-8), and two threads collapse when anything else runs on a 2-core machine.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])


def pytest_unconfigure(config) -> None:
    if _TMP:
        shutil.rmtree(_TMP, ignore_errors=True)
