"""Grade students' notebooks against the instructor's source (``grade``) or their own tests (``check``).

    python -m course_lib grade --source solutions/01_softmax_ce.ipynb --jobs 2 \\
        --json grades.json --csv grades.csv submissions/*.ipynb
    python -m course_lib check exercises/01_softmax_ce.ipynb

Scoring follows nbgrader: a test cell (grade, not solution) with ``points`` p earns p when it
runs without raising and 0 otherwise; cells graded by hand (grade + solution, Markdown answers,
task cells) are listed as ``manual`` and count apart. Formats: :mod:`.report`.

What decides a score
--------------------
Only the student's solution cells, plus cells the student may edit freely (unlocked ungraded
cells, scratch cells they added), which run where they stand relative to the graded cells. Test
cells and locked cells always come from the source, matched by grade_id, hidden tests included,
in the source's order: editing, emptying, commenting out, deleting, duplicating or moving them
changes nothing (exact rule: :mod:`.assemble`). Instructors: lock every cell tests rely on (the
imports too), since an unlocked cell is the student's to change or delete.

Each cell has a timeout; the kernel is interrupted (not killed) and the run goes on; a test whose
solution cell timed out scores 0 as ``timeout``. A kernel that dies (``os._exit``, a segfault,
``exit()``, the memory limit in C code) ends that submission: finished tests keep their result,
the rest are ``not-run``, and ``error`` says why. ``sys.exit()`` is an ordinary error (IPython
turns SystemExit into an error reply). Files that are empty, not JSON or not notebooks get score
0 and the reason; other submissions are unaffected.

Isolation: what the grader protects, and what it does not
----------------------------------------------------------
There is no container. Each submission runs in its own kernel process, in a fresh temporary
folder holding only a copy of the submission, with ``PWD``/``OLDPWD`` pointing nowhere near the
instructor's files, a data-size limit (``--memory-mb``, default 4096) and capped messages (no
message over 1 MB leaves the kernel; output is never stored). Pass/fail is read from the kernel's
execute replies and error messages, never from printed text.

Tests and locked cells run through a guard loaded before any student code (:mod:`.guard`).
Protected against: rebinding names in the notebook (``assert_allclose = ...``, ``abs = ...``,
``AssertionError = ...``, ``print = ...``); patching ``builtins``; replacing attributes of
modules the instructor's cells import and of their direct submodules
(``numpy.testing.assert_allclose = ...``); replacing ``__code__`` or methods of the instructor's
own functions and classes; trace functions; IPython input/AST transformers and patched
``run_cell``-style machinery that swallow errors (a test passes only with a receipt keyed by a
secret, so a skipped or silenced test scores 0); relative-path guesses for the source notebook.

Not protected (a determined student can): find the guard and its secret in ``sys.modules`` and
disable it; patch deeper library internals (``numpy.core...``), C-level state via ``ctypes``, or
methods of library classes such as ``torch.Tensor``; return objects whose ``__eq__`` is always
true (write tests with ``assert_allclose``/``isinstance``, not bare ``==``); read hidden tests
from the calling frame while a test runs and leak them in an error message; act from a
background thread they started while a test runs; read any file the grading user can read (the
source notebook by absolute path, found via ``course_lib.__file__`` or the home folder); use the
network; write outside the folder; leave background processes that detach from the kernel's
process group. Grade on a machine or account that holds nothing else worth protecting, and treat
a surprising full score as a reason to read the submission.

Caveats for instructors: a name that a locked or test cell binds to a module, function or class
is the instructor's object for every later test, even if a student rebinds it (do not ask
students to redefine such names), and public module attributes are put back before each test (do
not ask students to plug their code into a library by assignment); instructor cells run with
``exec`` after IPython's syntax transforms, so top-level ``await`` is not supported there;
partial credit (nbgrader's numeric test output) is not supported.
"""
from .assemble import Plan, load_source
from .report import SubmissionReport, TestResult, format_check, format_table, to_json, write_csv
from .runner import Options, check_notebook, grade_notebook, grade_submission, grade_submissions

__all__ = ["Options", "Plan", "SubmissionReport", "TestResult", "check_notebook", "format_check",
           "format_table", "grade_notebook", "grade_submission", "grade_submissions",
           "load_source", "to_json", "write_csv"]
