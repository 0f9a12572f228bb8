"""What creating the outbox's files costs on a folder's file system: 20,000 files of
6 kB (a rendered email), a thousand to a sub-folder, as ``OutboxFiles`` writes them.
A benchmark, not a test: it prints figures.

    python bench/file_creation.py [FOLDER ...]     # default: bench/results and /dev/shm
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

FILES, SIZE = 20_000, 6_000


def create(folder: Path) -> tuple[float, float]:
    """(wall seconds, kernel seconds) to create the files under ``folder``."""
    data = b"x" * SIZE
    started, before = time.perf_counter(), os.times()
    for number in range(FILES):
        parent = folder / f"{number // 1000:05d}"
        if number % 1000 == 0:
            parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(parent / f"{number}.eml", os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        os.write(descriptor, data)
        os.close(descriptor)
    after = os.times()
    return time.perf_counter() - started, after.system - before.system


def main() -> None:
    default = [Path(__file__).resolve().parent / "results", Path("/dev/shm")]
    for root in [Path(a) for a in sys.argv[1:]] or default:
        root.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix="files-", dir=root))
        try:
            wall, kernel = create(folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        print(
            f"{root}: {FILES:,} files in {wall:.2f} s, {kernel:.2f} s in the kernel "
            f"({wall / FILES * 1e6:.0f} µs a file)"
        )


if __name__ == "__main__":
    main()
