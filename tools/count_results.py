#!/usr/bin/env python3
"""Sum up meson test logs into one closing line: "N passed, M failed".

Counts individual cases, not executables: TAP lines for TAP tests, the
"N passed, M failed" line of the conformance runner, and the test's own
verdict otherwise.  An executable that failed without reporting a failing
case (a crash, a sanitizer report) counts as one more failure.
"""
import argparse
import json
import re
import sys

PLAIN = re.compile(r"^(\d+) passed, (\d+) failed", re.M)


def count_entry(entry):
    out = entry.get("stdout") or ""
    verdict = entry.get("result", "")
    passed = failed = skipped = 0
    if "TAP" in entry.get("protocol", "").upper() or re.search(r"^(not )?ok \d", out, re.M):
        for line in out.splitlines():
            if re.match(r"^ok \d+.*# ?SKIP", line, re.I):
                skipped += 1
            elif line.startswith("ok "):
                passed += 1
            elif line.startswith("not ok "):
                failed += 1
    else:
        m = PLAIN.findall(out)
        if m:
            passed, failed = int(m[-1][0]), int(m[-1][1])
    if verdict in ("SKIP",) and passed + failed == 0:
        skipped += 1
    elif verdict not in ("OK", "EXPECTEDFAIL", "SKIP") and failed == 0:
        failed += 1
    elif passed + failed + skipped == 0:
        passed += 1
    return passed, failed, skipped


def tap_entry(spec):
    """Counts of NAME=FILE, a TAP stream run outside meson.  Cases the
    plan promised but the stream lacks (or a missing plan) count as failed."""
    name, _, path = spec.partition("=")
    try:
        out = open(path, encoding="utf-8", errors="replace").read()
    except OSError as e:
        print("cannot read %s: %s" % (path, e), file=sys.stderr)
        out = ""
    p, f, s = count_entry({"protocol": "TAP", "stdout": out, "result": "OK"})
    plan = re.search(r"^1\.\.(\d+)", out, re.M)
    if plan is None:
        return name, "FAIL", 0, 1, 0
    f += max(int(plan.group(1)) - (p + f + s), 0)
    return name, ("FAIL" if f else "OK"), p, f, s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("logs", nargs="*")
    ap.add_argument("--tap", action="append", default=[], metavar="NAME=FILE",
                    help="a TAP stream of tests run outside meson")
    ap.add_argument("--failed-builds", type=int, default=0)
    args = ap.parse_args()
    total_p = total_f = total_s = 0
    for spec in args.tap:
        name, verdict, p, f, s = tap_entry(spec)
        print("%-6s %-40s %d passed, %d failed%s" % (
            verdict, name, p, f,
            ", %d skipped" % s if s else ""))
        total_p += p
        total_f += f
        total_s += s
    for path in args.logs:
        try:
            lines = open(path, encoding="utf-8").read().splitlines()
        except OSError as e:
            print("cannot read %s: %s" % (path, e), file=sys.stderr)
            total_f += 1
            continue
        for line in lines:
            if not line.strip():
                continue
            entry = json.loads(line)
            p, f, s = count_entry(entry)
            print("%-6s %-40s %d passed, %d failed%s" % (
                entry.get("result", "?"), entry.get("name", "?"), p, f,
                ", %d skipped" % s if s else ""))
            total_p += p
            total_f += f
            total_s += s
    total_f += args.failed_builds
    tail = ", %d skipped" % total_s if total_s else ""
    print("%d passed, %d failed%s" % (total_p, total_f, tail))
    return 1 if total_f else 0


if __name__ == "__main__":
    sys.exit(main())
