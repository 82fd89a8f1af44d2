"""The sandbox a submission runs in: what it sees, what it cannot reach, what it leaves behind."""
from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from course_lib.__main__ import main
from course_lib.grading import Limits, sandbox_problem
from course_lib.grading.sandbox import Sandbox
from tests.hostile.redteam import processes_with

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.notebooks

if sandbox_problem():
    pytest.skip(f"no sandbox here: {sandbox_problem()}", allow_module_level=True)


@pytest.fixture
def sandbox():
    with Sandbox(files={"mine.ipynb": b"{}"}, limits=Limits(memory_mb=1024, scratch_mb=32)) as sb:
        yield sb


def output(sb: Sandbox, code: str, timeout: float = 20) -> str:
    reply = sb.run(code, timeout)
    assert reply.status == "ok", reply.data
    return reply.data["stdout"]


def test_it_sees_its_own_copy_and_not_the_repository_or_home(sandbox):
    seen = output(sandbox, "import os; print(os.getcwd(), sorted(os.listdir('.')))\n"
                           f"print([os.path.exists(p) for p in ({str(REPO / 'solutions')!r}, "
                           f"{str(REPO / 'README.md')!r}, os.path.expanduser('~root/.ssh'), '/root/.bashrc')])")
    assert "/home/student" in seen and "mine.ipynb" in seen
    assert "[False, False, False, False]" in seen


def test_it_runs_unprivileged_as_pid_one_seeing_only_its_own_processes(sandbox):
    seen = output(sandbox, "import os; print(os.getuid(), os.getpid(), "
                           "sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))")
    assert seen.split()[:2] == ["65534", "1"] and seen.split()[2] == "[1]"


def test_its_environment_is_an_allow_list(monkeypatch):
    monkeypatch.setenv("GRADER_SECRET_TOKEN", "s3cr3t-value")
    with Sandbox(files={}) as sb:
        seen = output(sb, "import os; print(sorted(os.environ.items()))")
    assert "s3cr3t-value" not in seen and "GRADER_SECRET_TOKEN" not in seen
    assert "('NBGRADER_EXECUTION', 'autograde')" in seen


def test_it_has_no_network_to_the_host(sandbox):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    try:
        seen = output(sandbox, "import socket\ntry:\n"
                               f"    socket.create_connection(('127.0.0.1', {port}), timeout=2); print('connected')\n"
                               "except OSError as err:\n    print('refused', err)")
        assert "refused" in seen
        server.settimeout(0.5)
        with pytest.raises(socket.timeout):
            server.accept()
    finally:
        server.close()


def test_writes_outside_its_scratch_folders_fail(sandbox):
    seen = output(sandbox, "import sys, os\nfor p in ('/usr/x', sys.prefix + '/x.pth', '/opt/course_lib/course_lib/checks.py', '/etc/x'):\n"
                           "    try:\n        open(p, 'a').write('x'); print('WROTE', p)\n"
                           "    except OSError as err:\n        print('no', type(err).__name__)")
    assert "WROTE" not in seen


def test_scratch_space_is_capped(sandbox):
    seen = output(sandbox, "import os\nfor d in ('/dev/shm', '/tmp', '.'):\n    try:\n"
                           "        with open(d + '/big', 'wb') as f:\n"
                           "            for _ in range(64): f.write(b'x' * (1 << 20))\n"
                           "        print('FILLED', d)\n    except OSError as err:\n"
                           "        print('capped', d, err.errno)")
    assert "FILLED" not in seen and seen.count("capped") == 3


def test_memory_beyond_the_limit_is_refused_shared_mappings_included(sandbox):
    reply = sandbox.run("import mmap\nm = mmap.mmap(-1, 2 << 30, flags=mmap.MAP_SHARED)\n"
                        "m.write(b'x' * (1 << 30))", 20)
    assert reply.status in ("error", "dead")
    if reply.status == "error":
        assert reply.data["ename"] in ("OSError", "MemoryError")


def test_nothing_it_started_outlives_it():
    marker = "987654"
    with Sandbox(files={}) as sb:
        output(sb, f"import subprocess, os\nsubprocess.Popen(['setsid', 'sleep', '{marker}'], "
                   "start_new_session=True)\nif os.fork() == 0:\n    os.setsid()\n"
                   f"    os.execvp('sleep', ['sleep', '{marker}1'])")
        time.sleep(0.5)

    def alive() -> list[str]:
        return processes_with(marker)

    deadline = time.monotonic() + 5
    while alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert alive() == []


def test_a_cell_that_ignores_the_interrupt_is_stopped():
    # A short grace: the cell never answers the interrupt, however long the sandbox waits.
    with Sandbox(files={}, interrupt_grace=1.0) as sb:
        reply = sb.run("import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                       "time.sleep(60)", 1)
    assert reply.status == "stuck"


def test_a_cell_interrupted_before_it_starts_times_out_and_is_not_stuck(sandbox):
    # What is left of a deadline can be shorter than the worker takes to enter the cell (its
    # first cell here; a busy machine or the submission's own processes elsewhere).
    reply = sandbox.run("import time\ntime.sleep(60)", 0.01)
    assert reply.status == "timeout"


def test_a_huge_message_on_the_pipe_is_refused(sandbox):
    reply = sandbox.run("import os, struct, sys\nfd = int(sys.argv[-1])\n"
                        "os.write(fd, struct.pack('>Q', 300 << 20) + b'{')", 10)
    assert reply.status == "protocol" and "300 MB" in reply.why


def test_grading_refuses_without_bubblewrap_unless_told(tmp_path, monkeypatch, capsys):
    import shutil as shutil_module

    real_which = shutil_module.which
    monkeypatch.setattr(shutil_module, "which", lambda name, *a, **k: None if name == "bwrap" else real_which(name, *a, **k))
    source = tmp_path / "src.ipynb"
    nb = new_notebook(cells=[new_code_cell("assert True", metadata={"nbgrader": {
        "grade": True, "solution": False, "locked": True, "points": 1, "grade_id": "t", "schema_version": 3}})])
    nbformat.write(nb, str(source))
    assert main(["grade", "--source", str(source), str(source)]) == 1
    err = capsys.readouterr().err
    assert "bubblewrap is not installed" in err and "apt-get install bubblewrap" in err and "--no-sandbox" in err
    out_json = tmp_path / "g.json"
    assert main(["grade", "--source", str(source), "--no-sandbox", "--json", str(out_json), str(source)]) == 0
    assert "WITHOUT a sandbox" in capsys.readouterr().err
    report = out_json.read_text()
    assert '"sandbox": "none"' in report and "graded WITHOUT a sandbox" in report


def test_a_grading_python_without_numpy_stops_before_anyone_is_graded(tmp_path, capsys):
    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    source = REPO / "solutions" / "01_softmax_cross_entropy.ipynb"
    status = main(["grade", "--source", str(source), "--python", str(venv / "bin" / "python"),
                   str(REPO / "exercises" / "01_softmax_cross_entropy.ipynb")])
    err = capsys.readouterr().err
    assert status == 1 and "nobody was graded" in err
    assert "No module named" in err and "likely fix: the grading interpreter has not got" in err


def test_a_source_whose_setup_cell_fails_stops_grading_with_the_cause(tmp_path, capsys):
    meta = {"grade": False, "solution": False, "locked": True, "grade_id": "setup", "schema_version": 3}
    test = {"grade": True, "solution": False, "locked": True, "points": 1, "grade_id": "t",
            "schema_version": 3}
    source = tmp_path / "src.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("import course_lib_missing_module", metadata={"nbgrader": meta}),
                                       new_code_cell("assert True", metadata={"nbgrader": test})]), str(source))
    out_json = tmp_path / "g.json"
    assert main(["grade", "--source", str(source), "--json", str(out_json), str(source)]) == 1
    err = capsys.readouterr().err
    assert "nobody was graded" in err and "'setup'" in err
    assert "ModuleNotFoundError: No module named 'course_lib_missing_module'" in err
    assert "likely fix: a module the notebook imports is missing" in err
    assert not out_json.exists()
