"""How long MNIST takes to load: first (parse the IDX files) and second (parsed cache) time.

Run: python benchmarks/mnist_load.py   (uses $COURSE_DATA_DIR; a fresh temp cache)
"""
import os
import tempfile
import time

from course_lib.data import load_mnist


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


if __name__ == "__main__":
    main()
