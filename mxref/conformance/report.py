"""The report of a run: per-target counts, the picked lines, the summary tables, text and JSON."""

from __future__ import annotations

from dataclasses import dataclass, field

from .model import CLASS_NAMES, ERROR, IMPL, IMPL_DEFINED_IDS, MISMATCH, PASS, UNSUPPORTED
from .untrusted import printable

@dataclass
class Report:
    """Everything one run found: per-target results, the settings, rendering to text and JSON."""

    results: list
    level: int
    seed: int
    strict: bool
    errors: int
    unavailable: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)  # remarks on the whole run (e.g. files checked)
    diagnosis: bool = True  # the targets carry a diagnosis of their MISMATCH cases
    identify: bool = False  # rank the catalogue's profiles (identify_ranking)

    def identify_ranking(self, library: str | None = None) -> list:
        """[{"profile", "blocks_reproduced", "of"}] over the quantize targets (of ``library``, a
        summary-table library name, when given): the catalogue's profiles and each target's
        diagnosed best candidate, by the share of blocks reproduced (PASS and MISMATCH blocks;
        implementation-defined ones say nothing)."""
        from .diagnose import rank

        return rank([e for r in self.results if library is None or r.library == library for e in r.identify])

    def identify_json(self) -> dict:
        libs = list(dict.fromkeys(r.library for r in self.results if r.identify))
        d = {"ranking": self.identify_ranking()}
        if len(libs) > 1:
            d["by_library"] = {lib: self.identify_ranking(lib) for lib in libs}
        return d

    def diagnosis_lines(self) -> list:
        out = []
        for r in self.results:
            d = r.diagnosis
            if d is None or not d.mismatch:
                continue
            t = r.target
            out.append(f"{r.library} {r.version} {t.profile.name}: {t.operation} {t.format} ({t.modes}): {d.text()}")
            out += ["  " + line.text for line in d.unexplained_lines]
        return out

    def totals(self) -> list:
        t = [0, 0, 0, 0, 0]
        for r in self.results:
            for i in range(5):
                t[i] += r.counts[i]
        return t

    @property
    def compared(self) -> int:
        """Cases compared with mxref (every class but UNSUPPORTED)."""
        t = self.totals()
        return sum(t) - t[UNSUPPORTED]

    def why_nothing_compared(self) -> str | None:
        """None when some case was compared; else why none was (a run that checked nothing
        must not read as a PASS)."""
        if self.compared:
            return None
        why = []
        if not self.results:
            if not any(n.startswith("no target") for n in self.notes):
                why.append("no target matched the library, profile, --format and --operation given")
        else:
            reasons = sorted({f"{r.library}: {n}" for r in self.results for n in r.notes if r.counts[UNSUPPORTED]})
            why.append(f"all {sum(self.totals())} cases are UNSUPPORTED" + (f" ({'; '.join(reasons)})" if reasons else ""))
        why += [f"{name} skipped: {w}" for name, w in self.unavailable.items()]
        why += [n for n in self.notes if n.startswith("no target")]
        return printable("; ".join(why))

    @property
    def exit_status(self) -> int:
        """0 nothing found, 1 a MISMATCH or ERROR, 2 no case compared."""
        t = self.totals()
        if t[MISMATCH] or t[ERROR]:
            return 1
        return 2 if not self.compared else 0

    def _round_robin(self, attr) -> list:
        lists = [getattr(r, attr) for r in self.results]
        out = []
        j = 0
        while any(j < len(lst) for lst in lists):
            out += [lst[j] for lst in lists if j < len(lst)]
            j += 1
        return out if self.errors == 0 else out[: self.errors]

    def mismatch_lines(self) -> list:
        return self._round_robin("mismatch_lines")

    def error_lines(self) -> list:
        return self._round_robin("error_lines")

    def impl_lines(self) -> list:
        seen, out = set(), []
        for r in self.results:
            for lab, line in r.impl_lines.items():
                key = (r.library, lab)
                if key not in seen:
                    seen.add(key)
                    out.append(line)
        return out

    def impl_id_counts(self) -> dict:
        c: dict = {}
        for r in self.results:
            for k, v in r.impl_ids.items():
                c[k] = c.get(k, 0) + v
        return c

    def rows(self) -> list:
        return [r.row() for r in self.results]

    def to_json(self) -> dict:
        from .. import __version__

        t = self.totals()
        return {
            "mxref_version": __version__, "level": self.level, "seed": self.seed, "strict": self.strict,
            "errors_shown": self.errors,
            "summary": [row | ({"diagnosis": r.diagnosis.to_json() if r.diagnosis is not None else
                                 {"mismatch_blocks": 0, "explained": 0, "best": [], "per_model": {},
                                  "unexplained": []}} if self.diagnosis else {})
                        for r, row in zip(self.results, self.rows())],
            "totals": {n: t[i] for i, n in enumerate(CLASS_NAMES)} | {"cases": sum(t)},
            "impl_defined_ids": self.impl_id_counts(),
            "impl_defined_meaning": {k: IMPL_DEFINED_IDS[k] for k in self.impl_id_counts()},
            "mismatch_lines": [dict(line.data, text=line.text) for line in self.mismatch_lines()],
            "mismatch_total": sum(r.mismatch_total for r in self.results),
            "error_lines": [dict(line.data, text=line.text) for line in self.error_lines()],
            "impl_defined_examples": [dict(line.data, text=line.text) for line in self.impl_lines()],
            "notes": {f"{r.library} {r.target.profile.name} {r.target.operation} {r.target.format}": r.notes
                      for r in self.results if r.notes},
            "unavailable": self.unavailable,
            "run_notes": list(self.notes),
            "nothing_compared": self.why_nothing_compared(),
            "exit_status": self.exit_status,
        } | ({"identify": self.identify_json()} if self.identify else {})

    def text(self) -> str:
        out = []
        libs = dict.fromkeys(f"{r.library} {r.version}" for r in self.results)
        out.append(f"mxref conformance check: {', '.join(libs) or '(nothing run)'}; level {self.level}; "
                   f"seed {self.seed}; strict {'on' if self.strict else 'off'}")
        for name, why in self.unavailable.items():
            out.append(f"UNSUPPORTED {name}: {why}")
        ml = self.mismatch_lines()
        total = sum(r.mismatch_total for r in self.results)
        if ml:
            out.append("")
            out.append(f"Differences classified MISMATCH ({len(ml)} shown of {total}):")
            out += [line.text for line in ml]
            if len(ml) < total:
                out.append(f"... {total - len(ml)} more MISMATCH cases not shown (--errors 0 shows them all)")
        el = self.error_lines()
        if el:
            out.append("")
            out.append("Cases classified ERROR (the library raised, or its output was malformed):")
            out += [line.text for line in el]
        il = self.impl_lines()
        if il:
            out.append("")
            out.append("IMPLEMENTATION-DEFINED differences (one example per library and id):")
            out += [line.text for line in il]
        notes = [(r, n) for r in self.results for n in r.notes]
        if notes or self.notes:
            out.append("")
            out.append("Notes (unsupported cases and remarks):")
            out += list(self.notes)
            out += sorted({f"{r.library}: {n}" for r, n in notes})
        out.append("")
        out.append("Summary")
        headers = ["library", "version", "operation", "format", "profile", "modes", "cases", "pass",
                   "mismatch", "impl-defined", "unsupported", "error"]
        rows = [[r[h] for h in headers] for r in self.rows()]
        t = self.totals()
        rows.append(["total", "", "", "", "", "", sum(t)] + t)
        out.append(table(headers, rows))
        ids = self.impl_id_counts()
        if ids:
            out.append("")
            out.append(table(["impl-defined id", "cases", "meaning"],
                              [[k, v, IMPL_DEFINED_IDS[k]] for k, v in ids.items()]))
        dl = self.diagnosis_lines() if self.diagnosis else []
        if dl:
            out.append("")
            out.append("Diagnosis (mxref.models: the implementation models that reproduce the MISMATCH cases):")
            out += dl
        if self.identify:
            libs = list(dict.fromkeys(r.library for r in self.results if r.identify))
            out.append("")
            out.append("Identification (profiles of mxref.models, and the diagnosed candidates, by the blocks each "
                       "reproduces):")
            if not libs:
                out.append("no quantize blocks to identify a profile from")
            for lib in libs:
                ranking = self.identify_ranking(lib)
                out.append(f"{lib}:")
                out.append(table(["profile", "blocks reproduced", "of", "share"],
                                 [[e["profile"], e["blocks_reproduced"], e["of"],
                                   f"{e['blocks_reproduced'] / e['of']:.1%}" if e["of"] else "-"] for e in ranking]))
        out.append("")
        verdict = {0: "PASS", 1: "FAIL", 2: "NOTHING CHECKED"}[self.exit_status]
        if self.exit_status == 2:
            out.append(f"No case was compared: {self.why_nothing_compared()}")
        out.append(f"{verdict}: {t[MISMATCH]} mismatch, {t[ERROR]} error, {t[IMPL]} implementation-defined, "
                   f"{t[UNSUPPORTED]} unsupported, {t[PASS]} pass of {sum(t)} cases")
        return printable("\n".join(out), keep="\n")


def table(headers, rows) -> str:
    try:
        from tabulate import tabulate
    except ImportError:
        tabulate = None
    if tabulate is not None:
        return tabulate(rows, headers=headers, disable_numparse=True)
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    w = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w[i]) for i, c in enumerate(r)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * x for x in w))
    return "\n".join(lines)


def merge_reports(reports, level, seed, strict, errors, unavailable, diagnosis: bool = True,
                  identify: bool = False) -> Report:
    """One Report of several runs (one per library) and the libraries skipped."""
    res = [r for rep in reports for r in rep.results]
    return Report(res, level, seed, strict, errors, unavailable, [n for rep in reports for n in rep.notes],
                  diagnosis, identify)
