"""The command line of the checker: ``python -m mxref.conformance``, ``mxref check``,
``python tools/conformance.py`` (see :mod:`mxref.conformance` for the exit status)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .adapters import ADAPTERS, NEEDS_DUMP, make_adapter
from .model import ALL_OPERATIONS
from .report import merge_reports
from .run import check, resolve_profiles
from .untrusted import printable


def build_parser(prog: str = "python -m mxref.conformance"):
    """The argument parser; ``prog``: the command name its usage and --help show."""
    p = argparse.ArgumentParser(
        prog=prog,
        description="Run an MX library against mxref and report every difference, classified "
                    "(MISMATCH, IMPL_DEFINED:<id>, UNSUPPORTED, ERROR).")
    p.add_argument("--library", default=None,
                   help=f"one or more of {', '.join(ADAPTERS)} (comma-separated), or 'all' (default: "
                        "every installed library and the microxcaling recordings)")
    p.add_argument("--dump", metavar="DIR", help="for --library dump: a directory with dump.json, or with "
                   "MANIFEST.json (outputs in the spec_vectors layout; --library spec_vectors asks for that "
                   "layout by name)")
    p.add_argument("--vectors", metavar="DIR", help="the reference spec_vectors set a --dump DIR in that layout "
                   "takes its inputs from (default: $MXREF_VECTORS if set, else ./spec_vectors relative to "
                   "the current directory)")
    p.add_argument("--recordings", "--microxcaling-dir", dest="recordings", metavar="DIR",
                   help="the microxcaling recordings (manifest.json and .npy files; default: $MXREF_RECORDINGS "
                        "if set, else ../shared/peers/microxcaling relative to the current directory if it "
                        "exists, else the microxcaling adapter is unavailable)")
    p.add_argument("--profile", default=None, help="profile name(s) the library claims, comma-separated, or "
                   "'all' (default: the adapter's own; --list shows them)")
    p.add_argument("--format", default=None, help="only these formats (comma-separated)")
    p.add_argument("--operation", default=None, help=f"only these operations ({', '.join(ALL_OPERATIONS)}; "
                   "the last five in the spec_vectors layout only)")
    p.add_argument("--level", type=int, choices=(1, 2), default=1,
                   help="1: >= 1,000 blocks / 10,000 values per target (default); 2: >= 10,000 / 200,000")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--errors", type=int, default=20, help="MISMATCH lines shown (default 20; 0 = all)")
    p.add_argument("--strict", action="store_true", help="implementation-defined differences count as MISMATCH")
    p.add_argument("--json", metavar="FILE", help="write the report as JSON")
    p.add_argument("--no-diagnosis", dest="diagnosis", action="store_false",
                   help="do not search the model catalogue (mxref.models) for what reproduces each target's "
                        "MISMATCH cases (on by default; one closing paragraph per target)")
    p.add_argument("--identify", action="store_true",
                   help="rank the catalogue's profiles (mxref.models.PROFILES) and the diagnosed model "
                        "combinations by the blocks each reproduces (e.g. a --dump of spec_vectors/identify "
                        "outputs)")
    p.add_argument("--list", action="store_true", help="list the libraries, their availability and profiles")
    return p


def json_target_ok(path: str) -> str | None:
    """None when --json FILE can be written, else why not (checked before the run, so that a
    long run does not end in a traceback): FILE is opened for appending (and removed again when
    this created it)."""
    import os

    p = Path(path)
    if p.is_dir():
        return f"{path} is a directory"
    existed = p.exists()
    try:
        with open(p, "a"):
            pass
    except OSError as exc:
        return f"cannot write {path} ({exc.strerror or type(exc).__name__})"
    if not existed:
        try:
            os.unlink(p)
        except OSError:
            pass
    return None


def main(argv=None, prog: str = "python -m mxref.conformance") -> int:
    """The command line (``argv``: the arguments, default sys.argv[1:]; ``prog``: the command
    name for usage and --help, e.g. "mxref check"); returns the exit status (see
    :mod:`mxref.conformance`)."""
    args = build_parser(prog).parse_args(argv)
    err = sys.stderr

    def say(msg):  # one line on stderr, its control characters escaped
        print(printable(msg), file=err, flush=True)

    def progress(msg):
        say(f"conformance: {msg}")

    if args.errors < 0:
        say("error: --errors must be >= 0")
        return 2
    if args.list:
        for name in ADAPTERS:
            if name == "dump" and not args.dump:
                print("dump: needs --dump DIR (profiles come from its dump.json or MANIFEST.json)")
                continue
            if name == "spec_vectors" and not args.dump:
                print("spec_vectors: needs --dump DIR (a directory in the spec_vectors layout; --library dump "
                      "chooses it when DIR holds MANIFEST.json and no dump.json)")
                continue
            try:
                a = make_adapter(name, dump=args.dump, recordings=args.recordings, vectors=args.vectors)
                why = a.availability()
                if why:
                    print(printable(f"{name}: unavailable: {why}"))
                    continue
                profs = list(a.profiles())
                print(printable(f"{name} {a.version()}: profiles {', '.join(profs)}; default "
                                 f"{', '.join(a.default_profiles or profs)}"))
            except Exception as exc:
                print(printable(f"{name}: unavailable: {exc}"))
        return 0
    if args.library in (None, "all"):
        libs = [n for n in ADAPTERS if n not in NEEDS_DUMP + ("mxref",)]
        if args.dump:
            libs.append("dump")
        explicit = False
    else:
        libs = [s.strip() for s in args.library.split(",") if s.strip()]
        explicit = True
        bad = [n for n in libs if n not in ADAPTERS]
        if bad:
            say(f"error: unknown library {bad[0]!r}; known: {', '.join(ADAPTERS)}")
            return 2
        if not libs:
            say(f"error: --library names no library; known: {', '.join(ADAPTERS)}")
            return 2
    if "dump" in libs and not args.dump:
        say("error: --library dump needs --dump DIR (a directory holding dump.json, or MANIFEST.json in the "
            "spec_vectors layout)")
        return 2
    if "spec_vectors" in libs and not args.dump:
        say("error: --library spec_vectors needs --dump DIR (a directory holding MANIFEST.json in the "
            "spec_vectors layout)")
        return 2
    if args.json:
        why = json_target_ok(args.json)
        if why:
            say(f"error: --json: {why}")
            return 2
    ops = args.operation.split(",") if args.operation else None
    reports, unavailable, no_profile = [], {}, {}
    for name in libs:
        try:
            adapter = make_adapter(name, dump=args.dump, recordings=args.recordings,
                                    vectors=args.vectors)
            why = adapter.availability()
            if why:
                if explicit:
                    say(f"error: {name}: {why}")
                    return 3
                unavailable[name] = why
                progress(f"{name}: skipped: {why}")
                continue
            if not explicit and args.profile not in (None, "all"):
                try:
                    resolve_profiles(adapter, args.profile)
                except ValueError as exc:
                    unavailable[name] = str(exc)
                    no_profile[name] = list(adapter.profiles())
                    progress(f"{name}: skipped: {exc}")
                    continue
            progress(f"{name} {adapter.version()}: level {args.level}, seed {args.seed}")
            reports.append(check(adapter, profile=args.profile, level=args.level, seed=args.seed,
                                 strict=args.strict, errors=args.errors, formats=args.format,
                                 operations=ops, progress=progress, diagnosis=args.diagnosis,
                                 identify=args.identify))
        except (ValueError, TypeError) as exc:
            say(f"error: {name}: {exc}")
            return 2
    if no_profile and not reports:  # the profile is no library's: say which ones there are
        known = "; ".join(f"{n}: {', '.join(p)}" for n, p in no_profile.items())
        say(f"error: no library has profile {args.profile!r}; known profiles: {known} (or 'all')")
        return 2
    rep = merge_reports(reports, args.level, args.seed, args.strict, args.errors, unavailable, args.diagnosis,
                        args.identify)
    print(rep.text())
    if args.json:
        try:
            Path(args.json).write_text(json.dumps(rep.to_json(), indent=1))
        except OSError as exc:
            say(f"error: --json: cannot write {args.json} ({exc})")
            return 2
    if rep.exit_status == 2:
        say(f"error: no case was compared: {rep.why_nothing_compared()}")
    return rep.exit_status



