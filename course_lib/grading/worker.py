"""The process that runs a submission's cells, inside the sandbox. It decides nothing.

Started by :class:`course_lib.grading.sandbox.Sandbox` as ``python worker.py IN_FD OUT_FD``. It
reads frames (8-byte big-endian length, then UTF-8 JSON) from ``IN_FD`` and answers on
``OUT_FD``, two pipes that only the grader holds the other ends of:

* first ``{"op": "start", "files": {name: base64}, "limits": {...}}``: write the files into the
  working folder, set the resource limits, start IPython; answer ``{"op": "ready"}``;
* then ``{"op": "run", "code": str, "observe": bool}`` per cell: run it in the notebook's one
  namespace with IPython (as a kernel would) and answer ``{"op": "done", "status": "ok" |
  "error", "ename", "evalue", "traceback", "stdout", "stderr", "result", "observations"}``.

Everything this process sends is the student's to forge, since student code runs in it: the
grader treats each frame as untrusted data (size-capped, parsed defensively) and takes no
verdict from it on trust (:mod:`course_lib.grading.verdict`). Only the standard library and
IPython are imported before student code runs.
"""
import base64
import io
import json
import os
import resource
import signal
import struct
import sys
import traceback

TEXT_CAP = 20_000  # characters of output, traceback or result kept per cell
OBSERVED_CAP = 8 << 20  # bytes of observed values per cell


def _read_exact(fd, n):
    chunks = []
    while n:
        chunk = os.read(fd, n)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_frame(fd):
    (size,) = struct.unpack(">Q", _read_exact(fd, 8))
    return json.loads(_read_exact(fd, size))


def write_frame(fd, obj):
    data = json.dumps(obj).encode()
    view = memoryview(struct.pack(">Q", len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def _cut(text):
    try:
        text = str(text)
    except Exception as err:  # a student's exception whose __str__ raises
        text = f"<unprintable: {type(err).__name__}>"
    if len(text) <= TEXT_CAP:
        return text
    return text[:TEXT_CAP // 2] + f"\n[... {len(text) - TEXT_CAP} characters cut ...]\n" + text[-TEXT_CAP // 2:]


class _Capped(io.TextIOBase):
    """stdout/stderr for a cell: keeps the first and last TEXT_CAP/2 characters only."""

    def __init__(self):
        self.head, self.tail, self.dropped = [], "", 0
        self.size = 0

    def writable(self):
        return True

    def write(self, text):
        text = str(text)
        room = TEXT_CAP // 2 - self.size
        if room > 0:
            self.head.append(text[:room])
            self.size += min(room, len(text))
            text = text[room:]
        if text:
            self.tail = (self.tail + text)[-(TEXT_CAP // 2):]
            self.dropped += len(text)
        return len(text)

    def getvalue(self):
        head = "".join(self.head)
        hidden = self.dropped - len(self.tail)
        return head + (f"\n[... {hidden} characters cut ...]\n" if hidden > 0 else "") + self.tail


def _encode(kind, got):
    """A JSON-able description of an observed value: numbers as float64 bytes, the rest as text."""
    try:
        import numpy as np

        if hasattr(got, "detach"):  # a torch tensor
            got = got.detach().cpu().numpy()
        if kind == "close" or isinstance(got, (np.ndarray, np.generic)):
            arr = np.ascontiguousarray(np.asarray(got, dtype=np.float64))
            return {"array": base64.b64encode(arr.tobytes()).decode(), "shape": list(arr.shape)}
    except Exception:  # not numbers: compared as text below
        pass
    if isinstance(got, (bool, int, float, str, type(None))):
        return {"json": got}
    if isinstance(got, tuple) and all(isinstance(x, (bool, int, float, str)) for x in got):
        return {"json": list(got), "tuple": True}
    try:
        return {"text": _cut(repr(got))}
    except Exception as err:
        return {"text": f"<unprintable {type(got).__name__}: {type(err).__name__}>"}


class _Limits:
    def __init__(self, spec):
        self.spec = spec

    def apply(self):
        for name, value in self.spec.items():
            limit = getattr(resource, name, None)
            if limit is not None and value is not None:
                try:
                    resource.setrlimit(limit, (value, value))
                except (ValueError, OSError):  # already lower than asked
                    pass


def main():
    rfd, wfd = (int(arg) for arg in sys.argv[-2:])
    start = read_frame(rfd)
    for name, data in start.get("files", {}).items():
        with open(os.path.basename(name), "wb") as f:
            f.write(base64.b64decode(data))
    _Limits(start.get("limits", {})).apply()
    sys.stdin = io.StringIO()

    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance(colors="NoColor")
    # Errors and results travel as fields of the reply, not as printed text.
    shell.showtraceback = shell.showsyntaxerror = lambda *args, **kwargs: None
    shell.displayhook.write_output_prompt = lambda: None
    shell.displayhook.write_format_data = lambda *args, **kwargs: None
    observations, observed_bytes = [], [0]

    def observe(kind, exercise, got, params):
        if len(observations) >= 10_000:
            return
        entry = {"kind": kind, "exercise": _cut(exercise), "value": _encode(kind, got),
                 "params": json.loads(json.dumps(params, default=str))}
        size = len(json.dumps(entry))
        if observed_bytes[0] + size > OBSERVED_CAP:
            entry = {"kind": kind, "exercise": _cut(exercise), "value": {"text": "<value too large>"}}
        observed_bytes[0] += size
        observations.append(entry)

    in_cell = [False]

    def on_sigint(signum, frame):
        if in_cell[0]:
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_sigint)
    hooked = [False]
    write_frame(wfd, {"op": "ready", "python": sys.version.split()[0]})
    while True:
        try:
            request = read_frame(rfd)
        except EOFError:
            return
        if request.get("op") != "run":
            continue
        if request.get("observe") and not hooked[0]:
            try:  # the course's checks report to us once course_lib is importable
                from course_lib import checks

                checks.OBSERVERS.append(observe)
                hooked[0] = True
            except Exception:
                pass
        observations.clear()
        observed_bytes[0] = 0
        out, err = _Capped(), _Capped()
        reply = {"op": "done", "status": "ok"}
        saved = sys.stdout, sys.stderr
        try:
            sys.stdout, sys.stderr = out, err
            in_cell[0] = True
            result = shell.run_cell(request["code"], store_history=True)
            in_cell[0] = False
            error = result.error_before_exec or result.error_in_exec
            if error is not None:
                frames = [f for f in traceback.extract_tb(error.__traceback__)
                          if f"{os.sep}IPython{os.sep}" not in f.filename]
                tb = "".join(["Traceback (most recent call last):\n", *traceback.format_list(frames),
                              *traceback.format_exception_only(type(error), error)])
                reply.update(status="error", ename=type(error).__name__, evalue=_cut(error),
                             traceback=_cut(tb))
            elif result.result is not None:
                reply["result"] = _cut(repr(result.result))
        except KeyboardInterrupt:
            in_cell[0] = False
            reply.update(status="error", ename="KeyboardInterrupt", evalue="")
        except BaseException as err:  # IPython itself broken by the cell
            in_cell[0] = False
            reply.update(status="error", ename=type(err).__name__, evalue=_cut(err))
        finally:
            sys.stdout, sys.stderr = saved
        reply["stdout"], reply["stderr"] = out.getvalue(), err.getvalue()
        reply["observations"] = list(observations)
        write_frame(wfd, reply)


if __name__ == "__main__":
    main()
