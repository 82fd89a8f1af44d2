"""The download path, for real, against an HTTP server on 127.0.0.1 serving copies of the files."""
import functools
import http.server
import os
import socket
import threading

import numpy as np
import pytest

import course_lib.data.mnist as mnist
from course_lib.data import DataError, load_mnist
from course_lib.data.download import RemoteFile, find_local, locate

LABELS = mnist.FILES["test_labels"]
REAL_DATA = os.environ.get("COURSE_DATA_DIR")  # read before a fixture hides it
POLL_S = 0.02  # how often a test server checks for shutdown (the default half second is each test's wait)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _LyingLengthHandler(_QuietHandler):
    """Promises more bytes than it sends, then hangs up: an interrupted download."""
    def do_GET(self):
        body = (self.directory_path / self.path.lstrip("/")).read_bytes()[:1000]
        self.send_response(200)
        self.send_header("Content-Length", "4542")
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def served(tmp_path):
    """A folder served over HTTP on a free local port; yields (folder, base_url)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, args=(POLL_S,), daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture
def empty_env(tmp_path, monkeypatch):
    """No COURSE_DATA_DIR, a private cache: nothing is found unless downloaded."""
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    cache = tmp_path / "cache"
    monkeypatch.setenv("COURSE_CACHE_DIR", str(cache))
    return cache


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _real_bytes(spec: RemoteFile) -> bytes:
    path = find_local(spec, "mnist", REAL_DATA)
    assert path is not None, "the test needs the real files in COURSE_DATA_DIR"
    return path.read_bytes()


def _leftovers(folder):
    return [p.name for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def test_good_file_is_downloaded_verified_and_cached(served, empty_env):
    root, url = served
    (root / LABELS.name).write_bytes(_real_bytes(LABELS))
    spec = RemoteFile(LABELS.name, LABELS.sha256, (url + LABELS.name,))
    [path] = locate([spec], "mnist", progress=False)
    assert path == empty_env / "mnist" / LABELS.name
    assert path.read_bytes() == _real_bytes(LABELS)
    assert _leftovers(empty_env) == [LABELS.name]


def test_truncated_file_fails_checksum_and_leaves_nothing(served, empty_env):
    root, url = served
    (root / LABELS.name).write_bytes(_real_bytes(LABELS)[:1000])
    spec = RemoteFile(LABELS.name, LABELS.sha256, (url + LABELS.name,))
    with pytest.raises(DataError) as err:
        locate([spec], "mnist", progress=False)
    assert "SHA-256" in str(err.value) and LABELS.name in str(err.value)
    assert _leftovers(empty_env) == []


def test_wrong_file_fails_checksum_and_leaves_nothing(served, empty_env):
    root, url = served
    (root / LABELS.name).write_bytes(_real_bytes(mnist.FILES["train_labels"]))
    spec = RemoteFile(LABELS.name, LABELS.sha256, (url + LABELS.name,))
    with pytest.raises(DataError, match=LABELS.sha256):
        locate([spec], "mnist", progress=False)
    assert _leftovers(empty_env) == []


def test_connection_cut_mid_download_leaves_nothing(tmp_path, empty_env):
    root = tmp_path / "www"
    root.mkdir()
    (root / LABELS.name).write_bytes(_real_bytes(LABELS))
    handler = type("H", (_LyingLengthHandler,), {"directory_path": root})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, args=(POLL_S,), daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{LABELS.name}"
        with pytest.raises(DataError):
            locate([RemoteFile(LABELS.name, LABELS.sha256, (url,))], "mnist", progress=False)
    finally:
        server.shutdown()
        server.server_close()
    assert _leftovers(empty_env) == []


def test_server_down_names_the_file_the_folder_and_the_variable(empty_env):
    url = f"http://127.0.0.1:{_dead_port()}/{LABELS.name}"
    with pytest.raises(DataError) as err:
        locate([RemoteFile(LABELS.name, LABELS.sha256, (url,))], "mnist", progress=False)
    msg = str(err.value)
    assert LABELS.name in msg and str(empty_env / "mnist") in msg and "COURSE_DATA_DIR" in msg
    assert _leftovers(empty_env) == []


def test_second_mirror_is_tried_when_the_first_fails(served, empty_env):
    root, url = served
    (root / LABELS.name).write_bytes(_real_bytes(LABELS))
    dead = f"http://127.0.0.1:{_dead_port()}/{LABELS.name}"
    spec = RemoteFile(LABELS.name, LABELS.sha256, (dead, url + LABELS.name))
    [path] = locate([spec], "mnist", progress=False)
    assert path.is_file()


def test_without_download_a_missing_file_is_reported_not_fetched(empty_env):
    with pytest.raises(DataError, match="Missing data file"):
        locate([LABELS], "mnist", download_missing=False)


def test_load_mnist_downloads_all_four_files_into_data_dir(served, empty_env, tmp_path, monkeypatch):
    root, url = served
    for key, spec in mnist.FILES.items():
        (root / spec.name).write_bytes(_real_bytes(spec))
        monkeypatch.setitem(mnist.FILES, key, RemoteFile(spec.name, spec.sha256, (url + spec.name,)))
    target = tmp_path / "mine"
    (xt, yt), (xv, yv), _ = load_mnist(final=True, data_dir=target)
    assert sorted(p.name for p in (target / "mnist").glob("*.gz")) == sorted(
        s.name for s in mnist.FILES.values())
    assert xt.shape == (60_000, 784) and np.bincount(yv).sum() == 10_000
    # the parsed cache sits beside the downloaded originals
    assert len(list((target / "mnist").glob("*.npz"))) == 1
