"""Run every hostile case and print the count per category, one example each.

    python -m tests.hostile.report [--large] [--json PATH] [--only SUBSTRING]

Counts are of cases (a case is one function with one set of arguments; it counts
once per category however many modes show it) and, in brackets, of findings
(case x mode x size x call).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections import defaultdict

from .harness import CATEGORIES, MODES, Finding, check


def run(cases, sizes_for, modes=MODES, progress=True) -> list[Finding]:
    found: list[Finding] = []
    for n, case in enumerate(cases):
        t0 = time.perf_counter()
        for size in sizes_for(case):
            for mode in modes:
                found.extend(check(case, mode, size))
        if progress:
            print(f"  [{n + 1}/{len(cases)}] {case.name} {time.perf_counter() - t0:.2f}s",
                  file=sys.stderr, flush=True)
    return found


def summarize(found: list[Finding], total: int) -> str:
    by_cat: dict[str, dict[str, list[Finding]]] = defaultdict(lambda: defaultdict(list))
    for f in found:
        by_cat[f.category][f.case].append(f)
    lines = [f"{total} cases"]
    for cat in CATEGORIES:
        cases = by_cat.get(cat, {})
        n_find = sum(len(v) for v in cases.values())
        lines.append(f"{cat:11s} {len(cases):4d} cases ({n_find} findings)")
        if cases:
            first = next(iter(cases.values()))[0]
            lines.append(f"            e.g. {first.line()}")
    return "\n".join(lines)


def write_known(found: list[Finding], kinds: dict[str, str]) -> None:
    """known.py: one xfail reason per (case, mode, size) that failed in this run."""
    from pathlib import Path

    from .owners import reason

    rows = {}
    for f in found:
        size = f.size if f.size in ("small", "large") else "-"
        mode = {"script": "script", "threads": "threads"}.get(f.size, f.mode)
        mode = "config" if f.mode == "config" else mode
        rows.setdefault((f.case, mode, size), reason(f, kinds.get(f.case, "")))
    lines = ['"""Known failures on main, written by ``python -m tests.hostile.report '
             '--write-known``.', "",
             "Each entry turns its test into a strict xfail; delete an entry when its fix "
             "lands.", '"""', "", "KNOWN = {"]
    for key in sorted(rows):
        lines.append(f"    {key!r}:\n        {rows[key]!r},")
    lines.append("}")
    Path(__file__).with_name("known.py").write_text("\n".join(lines) + "\n")


def _known_from(paths: list[str]) -> int:
    from . import catalog, config_cases, process, threads

    found = []
    for path in paths:
        with open(path) as fh:
            found += [Finding(**d) for d in json.load(fh)]
    kinds = {c.name: c.kind for m in (catalog, ) for c in m.all_cases()}
    kinds |= {c.name: c.kind for m in (process, threads, config_cases) for c in m.CASES}
    write_known(found, kinds)
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--large", action="store_true", help="also every case's large inputs")
    ap.add_argument("--json", help="write every finding here")
    ap.add_argument("--only", default="", help="only cases whose name contains this")
    ap.add_argument("--no-process", action="store_true", help="skip subprocess, thread, config cases")
    ap.add_argument("--write-known", action="store_true",
                    help="write tests/hostile/known.py: the xfail marks for this run's findings")
    ap.add_argument("--known-from", nargs="+",
                    help="only write known.py from these --json files")
    a = ap.parse_args(argv)
    if a.known_from:
        return _known_from(a.known_from)
    from . import catalog

    warnings.simplefilter("ignore")
    cases = [c for c in catalog.all_cases() if a.only in c.name]
    found = run(cases, lambda c: c.sizes if a.large else c.sizes[:1])
    total = len(cases)
    kinds: dict[str, str] = {}
    if not a.no_process:
        from . import config_cases, process, threads

        for mod in (process, threads, config_cases):
            items = [c for c in mod.CASES if a.only in c.name]
            kinds.update({c.name: c.kind for c in items})
            total += len(items)
            for c in items:
                found.extend(mod.run_case(c))
    print(summarize(found, total))
    if a.write_known:
        write_known(found, {c.name: c.kind for c in cases} | kinds)
    if a.json:
        with open(a.json, "w") as fh:
            json.dump([f.__dict__ for f in found], fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
