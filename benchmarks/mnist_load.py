"""How long MNIST takes to load: first (parse the IDX files) and second (parsed cache) time.

Run: python benchmarks/mnist_load.py   (uses $COURSE_DATA_DIR; a fresh temp cache)
Writes the times, the machine and the date to benchmarks/results/mnist_load.json.
"""
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.common import machine, write_json  # noqa: E402
from course_lib.data import load_mnist  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "mnist_load.json"


def main() -> None:
    with tempfile.TemporaryDirectory() as cache:
        os.environ["COURSE_CACHE_DIR"] = cache
        times = []
        for _ in range(3):
            start = time.perf_counter()
            load_mnist(final=True)
            times.append(time.perf_counter() - start)
    print(f"first load (parse IDX + write cache): {times[0]:.2f} s")
    print(f"later loads (parsed cache):           {min(times[1:]):.2f} s")
    print(f"speed-up: {times[0] / min(times[1:]):.1f}x")
    write_json(RESULTS, dict(script="benchmarks/mnist_load.py", date=time.strftime("%Y-%m-%d %H:%M"),
                             machine=machine(), load_average=os.getloadavg()[0],
                             first_s=times[0], cached_s=min(times[1:])))


if __name__ == "__main__":
    main()
