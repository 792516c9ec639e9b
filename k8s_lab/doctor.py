"""`lab.py doctor`: the host checks come in the next commit."""

from __future__ import annotations


def run(lab) -> int:
    print("lab.py doctor: no checks yet", flush=True)
    return 2
