"""Where submissions are graded: the :class:`Backend` protocol and its local implementation.

:class:`LocalBackend` runs ``jobs`` sandboxes at a time in threads of this process;
:class:`.cluster.DaskBackend` runs one task per submission on a Dask cluster.
"""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Protocol

from .assemble import Plan
from .sandbox import SandboxError, sandbox_problem
from .single import Options, Reference, reference_bytes


class ClusterError(RuntimeError):
    """The cluster cannot be used (Dask missing, scheduler unreachable, no or unlike workers)."""



class Backend(Protocol):
    """Where submissions are graded: local threads (:class:`LocalBackend`) or a Dask cluster."""

    slots: int  # submissions that can be graded at once
    retried: int  # tasks started again after the worker running them died

    def reference(self, plan: Plan, name: str, data: bytes, opts: Options) -> tuple[Any, list[str]]:
        """Run the source (raises SourceError); return a handle for ``submit``'s ``reference``
        and the notes every report gets (:func:`.single.reference_bytes`)."""

    def share(self, obj: Any) -> Any:
        """A handle on ``obj`` for ``submit`` (a cluster sends it to its workers once)."""

    def submit(self, number: int, label: str, fn: Callable, *args: Any) -> Future:
        """Run ``fn(*args)`` for submission ``number`` (``label`` names it in logs) somewhere; a
        concurrent.futures Future of its result."""

    def failure(self, number: int, err: BaseException) -> str | None:
        """Why submission ``number``'s task failed, for its report; None: submit it again.
        Raises when grading cannot go on."""

    def settle(self) -> None:
        """Wait until ``retried`` counts every start of a task that has run so far."""

    def close(self) -> None:
        """Let go of the threads or the cluster connection (running work may finish first)."""


class LocalBackend:
    """``jobs`` sandboxes at a time on this machine."""

    retried = 0

    def __init__(self, jobs: int, opts: Options):
        if opts.sandbox and (problem := sandbox_problem()):
            raise SandboxError(problem + "; or pass --no-sandbox to grade without one (unsafe)")
        self.slots = max(1, jobs)
        self.pool = ThreadPoolExecutor(max_workers=self.slots)

    def reference(self, plan: Plan, name: str, data: bytes, opts: Options) -> tuple[Reference, list[str]]:
        return reference_bytes(plan, name, data, opts)

    def share(self, obj: Any) -> Any:
        return obj

    def submit(self, number: int, label: str, fn: Callable, *args: Any) -> Future:
        return self.pool.submit(fn, *args)

    def failure(self, number: int, err: BaseException) -> str | None:
        return f"the grader failed on this submission ({type(err).__name__}: {err})"

    def settle(self) -> None:
        pass  # nothing runs twice here

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
