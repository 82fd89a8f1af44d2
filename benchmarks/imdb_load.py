"""How long IMDb takes to load: first (read the tarball, tokenise 50,000 reviews, write the
cache) and later (cached token array, vocabulary re-ranked for the split) loads.

Run: python benchmarks/imdb_load.py   (uses $COURSE_DATA_DIR; a fresh temp cache)
Prints wall and CPU seconds: on a shared machine the CPU time is the steadier number. Writes
them, the machine and the date to benchmarks/results/imdb_load.json.
"""
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.common import machine, write_json  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "imdb_load.json"


def timed(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    with tempfile.TemporaryDirectory() as cache:
        os.environ["COURSE_CACHE_DIR"] = cache
        from course_lib.data import download
        from course_lib.data.imdb import ORIGINAL, REPACK, load_imdb

        source = download.locate_any([REPACK, ORIGINAL], "imdb")
        print(f"source: {source} ({source.stat().st_size / 1e6:.1f} MB)")
        if not str(download.derived_cache(source, "x")).startswith(cache):
            print("note: the cache sits beside the source (writable folder); if one exists "
                  "already, the 'first' load below is a cached one")
        runs = [("first load (tokenise + write cache)", lambda: load_imdb())]
        runs += [("second load (cache), final=False", lambda: load_imdb())]
        runs += [("third load (cache), final=True, vocab_size=20000",
                  lambda: load_imdb(final=True, vocab_size=20_000))]
        results = []
        for name, fn in runs:
            wall, cpu = timed(fn)
            results.append(dict(load=name, wall_s=wall, cpu_s=cpu))
            print(f"{name:52s} {wall:6.2f} s wall  {cpu:6.2f} s CPU")
    walls = [r["wall_s"] for r in results]
    print(f"speed-up of the cache: {walls[0] / min(walls[1:]):.1f}x (wall)")
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    write_json(RESULTS, dict(script="benchmarks/imdb_load.py", date=time.strftime("%Y-%m-%d %H:%M"),
                             machine=machine(), load_average=os.getloadavg()[0], loads=results))


if __name__ == "__main__":
    main()
