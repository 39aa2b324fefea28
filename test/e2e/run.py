#!/usr/bin/env python3
"""End-to-end tests: a real cluster and a real vscoped, spoken to over HTTP.

scripts/test.sh starts both and sets VSCOPE_URL (the daemon), PGHOST/PGPORT
(the cluster, as the superuser postgres), VSCOPE_DAEMON_CONF and friends.
Each test_* function in the test_*.py modules next to this file is one test;
it gets a Ctx and fails by raising (assert).  A module may have a setup(ctx),
run once before the first of its tests that runs (writes never make
partitions, so a module makes the past days it writes to writable there);
if it fails, so do the module's tests.  The last line printed is
"e2e: N passed, M failed".
"""
import importlib.util
import os
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from vstest import Ctx  # noqa: E402


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    only = sys.argv[1:]
    ctx = Ctx()
    passed = failed = 0
    for name in sorted(os.listdir(here)):
        if not (name.startswith("test_") and name.endswith(".py")):
            continue
        spec = importlib.util.spec_from_file_location(name[:-3], os.path.join(here, name))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        tests = [(n, f) for n, f in vars(mod).items() if n.startswith("test_") and callable(f)]
        tests.sort(key=lambda t: t[1].__code__.co_firstlineno)
        setup = getattr(mod, "setup", None)
        setup_error = None
        for tname, fn in tests:
            full = f"{name[:-3]}.{tname}"
            if only and not any(o in full for o in only):
                continue
            if setup is not None:
                try:
                    setup(ctx)
                except Exception as e:
                    setup_error = e
                setup = None
            t0 = time.monotonic()
            try:
                if setup_error is not None:
                    raise AssertionError(f"{name[:-3]}.setup failed: {setup_error}")
                fn(ctx)
            except Exception as e:  # a failed assert or anything unexpected
                failed += 1
                print(f"not ok {full}: {type(e).__name__}: {e}")
                tb = traceback.format_exc().strip().splitlines()
                for line in tb[-6:]:
                    print(f"    {line}")
            else:
                passed += 1
                print(f"ok {full} ({(time.monotonic() - t0) * 1000:.0f} ms)")
            sys.stdout.flush()
    print(f"e2e: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
