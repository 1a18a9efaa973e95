#!/usr/bin/env python3
"""Runs a command and reports its peak memory two ways:

- the largest resident set of any one of its processes (what
  `/usr/bin/time -f %M` reports), and
- the peak of the proportional set sizes (PSS: a page shared by n
  processes counts 1/n in each) of all its processes together, sampled
  every 20 ms: rsync, for one, works as three processes (sender,
  generator, receiver) that each hold the file list, and a child between
  fork and exec shares its parent's pages instead of doubling them.

    bench/peak-rss.py LABEL COMMAND [ARGS...]

Prints one line: `W s, largest process X KiB, all processes Y KiB PSS
(Z KiB anonymous): LABEL`. The command's output is discarded; its exit status
is not checked (`sync plan` exits 1 when it finds changes).
"""

import os
import resource
import subprocess
import sys
import time


def tree(root):
    """The pid and every descendant of it still running."""
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return pids


def pss(pid):
    """(proportional, anonymous) KiB of one process, or zeros once it is gone."""
    total = anon = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    total = int(line.split()[1])
                elif line.startswith("Pss_Anon:"):
                    anon = int(line.split()[1])
    except OSError:
        pass
    return total, anon


def main():
    label, command = sys.argv[1], sys.argv[2:]
    started = time.monotonic()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = peak_anon = 0
    while child.poll() is None:
        sizes = [pss(pid) for pid in tree(child.pid)]
        peak = max(peak, sum(s[0] for s in sizes))
        peak_anon = max(peak_anon, sum(s[1] for s in sizes))
        time.sleep(0.02)
    elapsed = time.monotonic() - started
    largest = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(
        f"  {elapsed:.2f} s, largest process {largest} KiB, "
        f"all processes {peak} KiB PSS ({peak_anon} KiB anonymous): {label}"
    )


if __name__ == "__main__":
    main()
