"""The grader's helper inside the student's kernel: runs locked and test cells out of the student's reach.

The grader sends this file's source to each kernel, which loads it under a random module name
before any student code runs (see ``kernel.guard_setup_code``). It then runs
every instructor cell (locked setup cells and test cells, taken from the source notebook) as
``run(source, label, n)`` instead of as plain notebook code. Before each such cell it:

* puts back the ``builtins`` the kernel started with, and clears ``sys.settrace``/``setprofile``;
* puts back the public attributes and ``sys.modules`` entries of every module an instructor
  cell imports (and of its direct submodules), and the code, defaults and methods of instructor
  functions and classes, so ``numpy.testing.assert_allclose = lambda *a, **k: None``, a fake
  module in ``sys.modules`` or a patched ``__code__`` is undone;
* runs the cell in the instructor namespace: a copy of the notebook's globals where builtins
  cannot be shadowed (a student's ``abs = ...`` or ``AssertionError = ...`` is invisible to the
  test) and where names that instructor cells bound to modules, functions or classes (``np``,
  ``assert_allclose``, helpers) are the instructor's objects whatever the student rebound.

Names the cell binds are copied back to the notebook's globals, so student code sees them. When
the cell finishes without an exception it leaves a receipt keyed by a secret the grader chose;
the grader counts a test as passed only with the right receipt, so a kernel whose IPython was
patched to swallow errors or skip code does not earn points. This is protection against simple
tampering only: code in the same process can find this module and the secret (see
``course_lib.grading`` for what is and is not protected).
"""
import builtins
import hashlib
import linecache
import sys
import threading
import types

_PROTECTED = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, type)
_MISSING = object()
_KEY = ""
_SHELL = None
_BUILTINS: dict = {}
_BOUND: dict = {}
_NAMES: set = set()
_ATTRS: list = []
_FUNCS: list = []
_MODULES: list = []
_SEEN: set = set()
_RECEIPTS: dict = {}
_NS: dict = {}
_EXEC, _COMPILE, _TRANSFORM = exec, compile, None


def setup(key, imports, max_message_bytes, memory_bytes):
    """Called once, before any student code: snapshot the clean state and cap the kernel."""
    global _KEY, _SHELL, _BUILTINS, _TRANSFORM
    from IPython import get_ipython
    from IPython.core.inputtransformer2 import TransformerManager

    _KEY, _SHELL = key, get_ipython()
    _BUILTINS = dict(builtins.__dict__)
    _TRANSFORM = TransformerManager().transform_cell
    for name in imports:  # import what instructor cells use now, so students cannot patch it first
        try:
            __import__(name)
            _protect(sys.modules[name])
        except BaseException:  # a missing module fails later, in the instructor's own cell
            pass
    _cap_messages(max_message_bytes)
    if memory_bytes:
        import resource
        resource.setrlimit(resource.RLIMIT_DATA, (memory_bytes, memory_bytes))


def _shrink(obj, limit):
    if isinstance(obj, str) and len(obj) > limit:
        return obj[:limit] + f"\n[... {len(obj) - limit} characters cut by the grader]"
    if isinstance(obj, dict):
        return {k: _shrink(v, limit) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        items = list(obj) if len(obj) <= 60 else list(obj[:40]) + ["[... cut by the grader]"] + list(obj[-10:])
        return [_shrink(v, limit) for v in items]
    return obj


def _cap_messages(limit):
    """No message leaves the kernel bigger than ``limit`` bytes: long strings in it are cut."""
    session = _SHELL.kernel.session
    pack = session.pack

    def capped(obj):
        data = pack(obj)
        return data if len(data) <= limit else pack(_shrink(obj, max(limit // 64, 200)))

    session.pack = capped


def _protect(obj):
    if id(obj) in _SEEN:
        return
    _SEEN.add(id(obj))
    if isinstance(obj, types.FunctionType):
        _FUNCS.append((obj, obj.__code__, obj.__defaults__, obj.__kwdefaults__))
    elif isinstance(obj, type) and obj.__module__ == "__main__":
        _ATTRS.extend((obj, k, v) for k, v in vars(obj).items() if not k.startswith("__"))
    elif isinstance(obj, types.ModuleType):
        _MODULES.append((obj.__name__, obj))
        subs = []
        for k, v in _public(obj):
            _ATTRS.append((obj, k, v))
            if isinstance(v, types.FunctionType):
                _FUNCS.append((v, v.__code__, v.__defaults__, v.__kwdefaults__))
            elif isinstance(v, types.ModuleType) and v.__name__.startswith(obj.__name__ + "."):
                subs.append(v)
        for sub in subs:  # one level down: numpy.testing, torch.nn, ...
            if id(sub) not in _SEEN:
                _SEEN.add(id(sub))
                _MODULES.append((sub.__name__, sub))
                _ATTRS.extend((sub, k, v) for k, v in _public(sub))


def _public(module):
    """Public attributes only: libraries rebind their private globals (pyplot's backend) at will."""
    return [(k, v) for k, v in list(vars(module).items()) if not k.startswith("_")]


def _restore():
    sys.settrace(None)
    sys.setprofile(None)
    threading.settrace(None)
    threading.setprofile(None)
    for name, module in _MODULES:  # a swapped sys.modules entry would feed a test's own imports
        if sys.modules.get(name) is not module:
            sys.modules[name] = module
    current = builtins.__dict__
    for k, v in _BUILTINS.items():
        if current.get(k, _MISSING) is not v:
            current[k] = v
    for owner, k, v in _ATTRS:
        if vars(owner).get(k, _MISSING) is not v:
            try:
                setattr(owner, k, v)
            except (AttributeError, TypeError):
                pass
    for f, code, defaults, kwdefaults in _FUNCS:
        if f.__code__ is not code or f.__defaults__ is not defaults or f.__kwdefaults__ is not kwdefaults:
            f.__code__, f.__defaults__, f.__kwdefaults__ = code, defaults, kwdefaults


def run(source, label, n):
    """Run instructor cell ``source`` (its traceback shows ``<label>``); leave receipt ``n``."""
    _restore()
    user = _SHELL.user_ns
    ns = _NS
    ns.clear()
    ns.update((k, v) for k, v in user.items() if k not in _BUILTINS or k in _NAMES)
    ns.update(_BOUND)
    ns["__builtins__"], ns["__name__"] = builtins, "__main__"
    before = dict(ns)
    filename = f"<{label}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    _EXEC(_COMPILE(_TRANSFORM(source), filename, "exec"), ns)
    for k, v in ns.items():
        if k in ("__builtins__", "__name__") or before.get(k, _MISSING) is v:
            continue
        user[k] = v
        _NAMES.add(k)
        if isinstance(v, _PROTECTED):
            _BOUND[k] = v
            _protect(v)
        else:
            _BOUND.pop(k, None)
    _RECEIPTS[n] = receipt_for(_KEY, label, n)


def receipt(n):
    """The receipt ``run`` left for cell ``n`` (None when it raised or never ran)."""
    return _RECEIPTS.pop(n, None)


def receipt_for(key, label, n):
    """What a receipt must be; the grader computes it on its side too."""
    return hashlib.sha256(f"{key}:{n}:{label}".encode()).hexdigest()[:24]
