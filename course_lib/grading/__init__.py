"""Grade students' notebooks against the instructor's source (``grade``) or their own tests (``check``).

    python -m course_lib grade --source solutions/01_softmax_cross_entropy.ipynb --jobs 2 \\
        --json grades.json --csv grades.csv submissions/*.ipynb
    python -m course_lib check exercises/01_softmax_cross_entropy.ipynb

Scoring follows nbgrader: cells run top to bottom in one namespace; a test cell (grade, not
solution) with ``points`` p earns p when it runs without an error (a number as its result earns
that many points), 0 otherwise; a plain cell that writes to stderr scores 0 as in nbgrader, while
a cell decided by ``course_lib.checks`` values keeps its points and shows the warning; cells graded
by hand are listed as ``manual``. Formats:
:mod:`.report`.

The pieces, each in its own module:

* :mod:`.assemble` — what runs: the source's test and locked cells (hidden tests included)
  around the student's solution cells, whatever the submission did to its copies; nbgrader's
  ``### AUTOTEST`` lines in the source expanded first with its autotests.yml (:mod:`.autotest`);
* :mod:`.sandbox` — where it runs: a worker (:mod:`.worker`) in a bubblewrap sandbox of its own,
  with limits, talking to the grader over private pipes;
* :mod:`.verdict` — who decides: the grader's process, comparing the values the course's checks
  received with those of the instructor's solution (the reference run);
* :mod:`.single` — one notebook: its cells run in a sandbox, each test judged, its report (and
  the reference run of the source); :mod:`.submission` reads its bytes as a notebook, capped;
* :mod:`.runner` — the order of things: the set checked (:mod:`.classwide`: a wrong ``--source``, a
  wrong answer key), the reference run before the first submission the journal does not hold (stop
  if the source fails), then every submission (on a :mod:`.backend`: local threads, or a Dask
  cluster: :mod:`.cluster`, which only members holding the cluster's certificates reach,
  :mod:`.certs`, and whose results come back as checked JSON bytes, :mod:`.wire`, then checked
  against the submission sent), reports last;
* :mod:`.students` — which files and whose: regular files only, read without following links,
  size-capped; nbgrader's layout; one student, one file;
* :mod:`.journal` — nothing finished is lost: reports kept as they arrive, reused by a rerun.

What is guaranteed, and by what, is in the README's section "Grading: what is guaranteed".
"""
from .assemble import Plan, load_source
from .report import SubmissionReport, TestResult, format_check, format_table, to_json, write_atomic, write_csv
from .backend import ClusterError
from .runner import grade_submissions
from .single import Options, SourceError, check_notebook, grade_bytes, grade_notebook, reference_bytes
from .sandbox import Limits, SandboxError, sandbox_problem

__all__ = ["ClusterError", "Limits", "Options", "Plan", "SandboxError", "SourceError", "SubmissionReport",
           "TestResult", "check_notebook", "format_check", "format_table", "grade_notebook",
           "grade_bytes", "grade_submissions", "load_source", "reference_bytes",
           "sandbox_problem", "to_json", "write_atomic", "write_csv"]
