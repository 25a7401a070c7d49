"""``baton`` that SIGKILLs itself in the middle of its Nth write: right after the temp file
is created (odd N: no byte written yet; even N: half of them), before the swap. The fault
sits at the ``os.write`` level, where a dying machine would cut the write.

Usage: python killing_baton.py N RECORD BATON-ARGS...
Before dying it appends the temp file's name to RECORD, so the test can count the kills
that landed mid-write.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

_TEMP_MARK = ".baton-"  # how the file store names its temp files


def main() -> int:
    n, record = int(sys.argv[1]), Path(sys.argv[2])
    real = os.write
    temps: set[str] = set()

    def write(fd: int, data: bytes | memoryview) -> int:
        name = os.readlink(f"/proc/self/fd/{fd}")
        if _TEMP_MARK in Path(name).name and name not in temps:
            temps.add(name)
            if len(temps) == n:
                if n % 2 == 0:
                    real(fd, bytes(data[: len(data) // 2]))
                with record.open("a", encoding="utf-8") as f:
                    f.write(Path(name).name + "\n")
                os.kill(os.getpid(), signal.SIGKILL)
        return real(fd, data)

    os.write = write
    from orchestrator.cli import main as baton

    return baton(sys.argv[3:])


if __name__ == "__main__":
    sys.exit(main())
