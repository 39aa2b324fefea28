"""The SQL fuzzer (test/fuzz/sqlfuzz.py), a short run with a fixed seed:
mutated inputs for every parser inside the extension, called through SQL;
no backend crashes and no XX000 (make fuzz-sql runs it longer, under ASan
where it can, and sqlsmith besides)."""
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FUZZ = os.path.join(ROOT, "test", "fuzz", "sqlfuzz.py")
# Debian's python3-psycopg2 is for Debian's Python (a python3 earlier on PATH
# may not see it)
PYTHON = os.environ.get("VSCOPE_FUZZ_PYTHON", "/usr/bin/python3")


def run_fuzz(ctx, *args):
    log = os.path.join(ctx.test_dir, "log", "postgresql.log")
    p = subprocess.run([PYTHON, FUZZ, "--dsn", "dbname=vscope user=postgres", "--log", log, *args],
                       capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout + p.stderr


def test_sqlfuzz_fixed_seed_no_crash_no_internal_error(ctx):
    # 1,000 cases in well under a minute; the same cases every run
    rc, out = run_fuzz(ctx, "--setup", "--demo-hours", "2", "--seed", "11", "--cases", "1000",
                       "--seconds", "40")
    assert rc == 0 and "sqlfuzz: " in out, out[-3000:]


def test_sqlfuzz_regression_cases(ctx):
    # the cases that found bugs, replayed (seed, case): a NaN percentile
    # state crashing the backend (_pct_final_r3, _legacy, _r7), a day
    # before year 1 ending in XX000 (the same inputs, and the rest, are in
    # test/sql/fuzz_sql.sql: a change to the generator's tables moves these)
    for seed, cases in ((11, (701, 1052, 1978)), (3, (665,))):
        rc, out = run_fuzz(ctx, "--seed", str(seed), *[a for c in cases for a in ("--case", str(c))])
        assert rc == 0 and f"sqlfuzz: {len(cases)} cases" in out, out[-2000:]
