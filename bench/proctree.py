#!/usr/bin/env python3
"""Benchmark helper, not a test: run a command, report its wall time and
the peak memory of the processes in its tree that run given programs.

usage: proctree.py OUT EXE[,EXE...] -- CMD...

Writes to OUT one line:  WALL_S TREE_KIB LARGEST_KIB STATUS
  TREE_KIB     the largest sum, over samples, of VmHWM of the live
               processes whose /proc/PID/exe is one of EXE.  VmHWM only
               grows, so a process's own peak is caught up to its last
               sample (every 5 ms); summing them over-counts the pages that
               a forked child shares with its parent, so it is an upper
               bound of the tree's resident memory at any one time.
  LARGEST_KIB  the largest single VmHWM among those processes.

Why a sampler: /usr/bin/time (getrusage RUSAGE_CHILDREN) reports the
largest single descendant, not the tree, and cbuild works in a child it
re-executes inside its user namespace while the parent waits.  A memory
cgroup would count the page cache of everything the build writes.
Must run as root, or as the user that owns the tree, to read /proc.
"""
import os
import select
import subprocess
import sys
import time


def children(pid):
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out.extend(int(c) for c in f.read().split())
    except OSError:
        pass
    return out


def hwm(pid, exes):
    """VmHWM in KiB of PID if it runs one of EXES, else None."""
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
        if exe.removesuffix(" (deleted)") not in exes:
            return None
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def main():
    out, exes = sys.argv[1], set(sys.argv[2].split(","))
    assert sys.argv[3] == "--"
    cmd = sys.argv[4:]
    peak = {}
    tree = 0
    start = time.monotonic()
    proc = subprocess.Popen(cmd)
    # Woken as soon as the command exits, so the wall time is not rounded
    # up to the sampling period.
    pidfd = select.poll()
    pidfd.register(os.pidfd_open(proc.pid), select.POLLIN)
    while proc.poll() is None:
        total = 0
        todo = [proc.pid]
        while todo:
            pid = todo.pop()
            todo.extend(children(pid))
            kib = hwm(pid, exes)
            if kib is not None:
                peak[pid] = max(peak.get(pid, 0), kib)
                total += kib
        tree = max(tree, total)
        pidfd.poll(5)
    wall = time.monotonic() - start
    with open(out, "w") as f:
        f.write(f"{wall:.3f} {tree} {max(peak.values(), default=0)} "
                f"{proc.returncode}\n")
    sys.exit(proc.returncode)


if __name__ == "__main__":
    main()
