#!/usr/bin/env python3
"""make test-citus: compares the answers of a single node and of the Citus
cluster (files of "name<TAB>JSON" lines, from compare_answers.sql).

Everything must be equal, but floating-point numbers: a sum over several
shards adds in another order than one node does, so two numbers are equal
when they differ by at most 1e-9 of their size (or 1e-12 near zero).
Prints one line per answer and exits 1 when any differs."""
import json
import math
import sys

REL, ABS = 1e-9, 1e-12


def diff(a, b, path):
    """the first difference between two JSON values, or None"""
    if isinstance(a, bool) or isinstance(b, bool):
        return None if a is b else f"{path}: {a!r} != {b!r}"
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if isinstance(a, int) and isinstance(b, int):
            return None if a == b else f"{path}: {a} != {b}"
        return None if math.isclose(a, b, rel_tol=REL, abs_tol=ABS) else f"{path}: {a!r} != {b!r}"
    if type(a) is not type(b):
        return f"{path}: {a!r} != {b!r}"
    if isinstance(a, dict):
        if a.keys() != b.keys():
            return f"{path}: keys {sorted(a)} != {sorted(b)}"
        for k in a:
            d = diff(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = diff(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b else f"{path}: {a!r} != {b!r}"


def load(path):
    out = {}
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            name, _, answer = line.partition("\t")
            out[name] = json.loads(answer) if answer else None
    return out


def main():
    single, citus, label = load(sys.argv[1]), load(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else ""
    bad = 0
    if not single:
        print(f"not ok - {label}: no answers from the single node")
        return 1
    for name in sorted(set(single) | set(citus)):
        if name not in citus or name not in single:
            d = "missing on " + ("Citus" if name not in citus else "the single node")
        else:
            d = diff(single[name], citus[name], "")
        if d:
            bad += 1
            print(f"not ok - {label} {name}: {d[:400]}")
        else:
            print(f"ok - {label} {name}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
