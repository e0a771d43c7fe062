"""``optlevel calibrate``: measure this machine for the planner's cost model.

Each backend measures what its estimates need (``backend.calibrate(profile)``);
the values go to ``OPTLEVEL_CACHE_DIR/profile.json``. Calls calibrate on first
need anyway; this command does it now, or again with ``--refresh``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .._table import format_table
from ..config import settings
from ..core.calibrate import profile_for
from ..core.registry import BACKENDS, is_available, requirement_missing
from ._common import add_output_format, add_verbosity, output_format, quiet


def cmd_calibrate(args: argparse.Namespace) -> int:
    s = settings()
    profile = profile_for(s)
    if args.refresh:
        profile.forget()
    for backend in BACKENDS.values():
        if requirement_missing(backend) or not is_available(backend, s):
            continue
        if not quiet(args):
            print(f"calibrating {backend.name} (level {backend.level}) ...",
                  file=sys.stderr, flush=True)
        backend.calibrate(profile, quick=args.quick)
    if output_format(args) == "json":
        print(json.dumps(profile.to_dict(), indent=2))
    else:
        rows = [(k, _show(v)) for k, v in sorted(profile.values.items())]
        print(format_table(["measurement", "value"], rows or [("(none)", "-")],
                           title=f"machine profile: {profile.path}"))
    return 0


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def add_parser(sub: Any) -> None:
    p = sub.add_parser("calibrate", help="measure this machine for the planner")
    p.add_argument("--refresh", action="store_true", help="forget earlier measurements")
    p.add_argument("--quick", action="store_true", help="fewer repetitions")
    add_output_format(p)
    add_verbosity(p)
    p.set_defaults(handler=cmd_calibrate)
