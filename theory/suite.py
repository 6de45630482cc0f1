"""The "paper" suite: every claim at the true sizes of the experiments of Maron et al. (2020),
and a markdown report for readers who have not read the paper.

>>> [s.key for s in SETTINGS]
['signals', 'images-6', 'images-20', 'points', 'graphs', 'tabular', 'deepsets']
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import eqsolve
from eqsolve import EqsolveError, groups

from ._claims import CLAIMS, Subject, _bell, _products, _symmetric, as_subject, check_claims
from ._methods import Limits, Work
from ._result import ClaimResult, Results, claims_table, skipped_notes, verdict


@dataclass
class Setting:
    """One experiment of the paper: the element symmetry H, the set size n, channels."""

    key: str
    title: str
    description: str
    make: object  # () -> PermutationGroup or Action
    n: int
    in_channels: int
    out_channels: int
    wreath: bool = True
    note: str = ""


def _adjacency():
    return groups.symmetric(20).action().tensor(2)


SETTINGS = [
    Setting("signals", "1D signals", "A set of n = 25 signals of length 100; each signal may be cyclically shifted "
            "(H = C_100, translations of the time axis).", lambda: groups.cyclic(100), 25, 1, 16),
    Setting("images-6", "Image sets, n = 6", "A set of n = 6 images of 64 x 64 pixels; each image may be "
            "translated (H = cyclic translations of the 64 x 64 grid, 4096 elements).",
            lambda: groups.grid_translations((64, 64)), 6, 3, 16),
    Setting("images-20", "Image sets, n = 20", "The same images with n = 20 elements: the set group S_20 x H acts "
            "on 81920 pixels, so its 81920 x 81920 orbit table (25 GiB) is beyond one machine; the rows say which "
            "methods ran instead.", lambda: groups.grid_translations((64, 64)), 20, 3, 16, wreath=False,
            note="The wreath row is omitted here: H wr S_20 on 81920 points is too large for every exact method, "
                 "and a Monte Carlo estimate of a sum dominated by the identity of H is not a check."),
    Setting("points", "Point clouds", "A set of n = 10 point clouds of m = 20 points each; the points of a cloud "
            "may be reordered (H = S_20 on the points; x, y, z are the 3 input channels).",
            lambda: groups.symmetric(20), 10, 3, 16),
    Setting("graphs", "Graphs", "A set of n = 10 graphs on m = 20 vertices given by adjacency matrices; a "
            "relabelling of the vertices permutes the 400 entries (H = S_20 acting on [20] x [20]).",
            _adjacency, 10, 1, 16),
    Setting("tabular", "Tabular / exchangeable", "A table of n = 25 rows and d = 10 columns, exchangeable in both "
            "(H = S_10 on the columns, S_25 on the rows).", lambda: groups.symmetric(10), 25, 1, 1),
    Setting("deepsets", "DeepSets", "A set of n = 25 scalars with no symmetry inside an element (H trivial on 1 "
            "point): Theorem 1 reduces to the DeepSets layer a x_i + b sum_j x_j.",
            lambda: groups.trivial(1), 25, 1, 1),
]


@dataclass
class Section:
    setting: Setting | None
    title: str
    description: str
    results: Results
    subject: Subject | None = None
    seconds: float = 0.0
    pictures: list = field(default_factory=list)

    def to_dict(self) -> dict:
        out = {"title": self.title, "description": self.description, "seconds": round(self.seconds, 6),
               "agree": self.results.agree, "results": [r.to_dict() for r in self.results]}
        if self.setting is not None:
            out.update(key=self.setting.key, n=self.setting.n, in_channels=self.setting.in_channels,
                       out_channels=self.setting.out_channels, group=self.subject.label if self.subject else None)
        if self.pictures:
            out["pictures"] = [p["path"] for p in self.pictures]
        return out


@dataclass
class SuiteResult:
    name: str
    sections: list[Section]
    seconds: float

    @property
    def results(self) -> Results:
        return Results(r for s in self.sections for r in s.results)

    @property
    def agree(self) -> bool:
        return self.results.agree

    @property
    def status(self) -> str:
        return self.results.status

    def to_dict(self) -> dict:
        res = self.results
        return {"name": self.name, "agree": res.agree, "status": res.status, "seconds": round(self.seconds, 6),
                "sections": [s.to_dict() for s in self.sections]}

    def text(self, verbose: bool = False, full: bool = False) -> str:
        """The CLI's text: one table per section, then the verdict."""
        parts = []
        for section in self.sections:
            body = Results(section.results).text(verbose=verbose, full=full).rsplit("\n", 1)[0]
            parts.append(f"== {section.title} ({section.seconds:.2f} s)\n{body}\n")
        parts.append(verdict(self.results, self.seconds))
        return "\n".join(parts)

    def __str__(self) -> str:
        return self.text()


def paper(limits: Limits | None = None, settings=None, extras: bool = True, progress: bool | None = None,
          **options) -> SuiteResult:
    """Run the paper suite. ``settings``: keys to run (default all); ``extras``: the products,
    Bell and E(S_1000) rows; ``progress``: a bar on stderr (default: when it is a terminal)."""
    from eqsolve._progress import progress as bar_for

    work = Work(Limits.make(limits, **options))
    chosen = SETTINGS if settings is None else [s for s in SETTINGS if s.key in settings]
    if settings is not None and len(chosen) != len(set(settings)):
        known = ", ".join(s.key for s in SETTINGS)
        raise EqsolveError(f"unknown setting in {list(settings)}; known: {known}")
    leave = {s.key: {"products"} | (set() if s.wreath else {"wreath"}) for s in chosen}
    total = sum(len(CLAIMS) - len(leave[s.key]) for s in chosen) + (1 if extras else 0)
    start = time.perf_counter()
    sections = []
    with bar_for(total=total, desc="paper suite", enabled=progress, unit="claim") as bar:
        for setting in chosen:
            t0 = time.perf_counter()
            bar.set_description(setting.key)
            subject = as_subject(setting.make())
            results = check_claims(work, subject, setting.n, setting.in_channels, setting.out_channels,
                                   leave[setting.key], bar)
            sections.append(Section(setting, setting.title, setting.description, results, subject,
                                    time.perf_counter() - t0))
        if extras:
            t0 = time.perf_counter()
            bar.set_description("extras")
            results = Results()
            results.append(_products(work, [as_subject(groups.symmetric(25)), as_subject(groups.symmetric(10))]))
            results.append(_products(work, [as_subject(g) for g in (groups.symmetric(4), groups.cyclic(6),
                                                                      groups.dihedral(5))]))
            results.append(_symmetric(work, 1000))
            results.extend(_bell(work, r, r) for r in range(1, 7))
            sections.append(Section(None, "Products, Bell numbers and a large S_n",
                                    "Products of groups acting on separate axes, higher-order layers of S_m "
                                    "(the bonus row), and E(S_1000) exactly without enumerating 1000! elements.",
                                    results, None, time.perf_counter() - t0))
            bar.update(1)
    work.release()
    return SuiteResult("paper", sections, time.perf_counter() - start)


def single(H, n: int, in_channels: int = 1, out_channels: int = 1, results: Results | None = None,
           seconds: float = 0.0, label: str | None = None) -> SuiteResult:
    """Wrap one ``theory.verify`` run as a one-section suite (for the report writer)."""
    subject = as_subject(H)
    section = Section(None, f"H = {label or subject.label}, n = {n}, channels {in_channels} -> {out_channels}",
                      f"H acts on {subject.action.degree} points; the set group S_{n} x H acts on "
                      f"{n * subject.action.degree} points.", results, subject, seconds)
    return SuiteResult("verify", [section], seconds)


# -- the report -------------------------------------------------------------------------

INTRO = """\
## How to read this

A *layer* is a linear map W from inputs to outputs. If the data has a symmetry (shifting a
signal, reordering the elements of a set), a layer that respects it must satisfy
W P(g) = P(g) W for every symmetry g, which forces many entries of W to be equal. The number
of free weights that remain is **E**. Maron et al. (ICML 2020) prove:

- **Lemma 1**: for a permutation group H, E(H) = average over h in H of (number of points h
  fixes)^2, which is also the number of orbits of H on pairs of points.
- **Theorem 1**: for a *set* of n elements, each with symmetry H, the group is S_n x H, and
  E(S_n x H) = 2 E(H) (E(H) when n = 1). Moreover every such layer has the form
  L(X)_i = L1(x_i) + L2(sum_j x_j) with L1, L2 H-layers: the "DSS" layer.
- **Generalizations** (supplement, Section A) for outputs that are one number, one number per
  element, or one element-shaped output, with c_in -> c_out channels; **products** of groups
  on separate axes; **each element its own symmetry** (the wreath product); and the Bell
  numbers for higher-order layers of S_m.

Every row below states a claim with this case's numbers, the predicted value, and the values
found by *independent* computations: `orbits` (eqsolve's exact solver), `burnside` (the
literal average, enumerating the group), `burnside-classes` (the same average over conjugacy
classes), `nullspace` (the rank of the linear system W P = P W), `rencontres` (E(S_n) from
the numbers of permutations with k fixed points), structural checks of the weight-sharing
table, and, where a method cannot run, the reason. Only a claim confirmed by at least one
independent computation and contradicted by none is marked *agree*.
"""


def write_report(result: SuiteResult, path, pictures: bool = True, pictures_dir=None, limits: Limits | None = None
                 ) -> list[str]:
    """Write the markdown report (atomically); with ``pictures`` and matplotlib installed, also
    one PNG sharing-pattern picture per setting. Returns the picture paths."""
    from eqsolve._io import atomic_write_text, check_target, os_reason

    from .pictures import have_matplotlib

    path = Path(path)
    check_target(path)  # refuse a bad target before drawing anything
    written = []
    picture_note = ""
    t0 = time.perf_counter()
    if pictures and have_matplotlib():
        directory = Path(pictures_dir) if pictures_dir else path.with_name(path.stem + "_files")
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise EqsolveError(f"cannot create the pictures folder {directory}: {os_reason(err)}") from None
        for section in result.sections:
            if section.subject is not None:
                section.pictures = _pictures(section, directory, limits or Limits())
                written += [p["path"] for p in section.pictures]
    elif pictures:
        picture_note = "Pictures were not drawn: matplotlib is not installed (pip install 'eqsolve[plot]')."
    picture_seconds = time.perf_counter() - t0
    atomic_write_text(path, _markdown(result, path, picture_note, picture_seconds))
    return written


def _pictures(section: Section, directory: Path, limits: Limits) -> list[dict]:
    from .pictures import draw_sharing

    subject = section.subject
    rho = subject.action
    d = rho.degree
    key = section.setting.key if section.setting else "group"
    out = []
    if d * d * 4 <= limits.max_bytes:
        table = eqsolve.solve(out=rho, inp=rho).orbit_index
        out.append(draw_sharing(table, directory / f"{key}-H.png", title=f"H = {subject.label}",
                                max_points=400, subtitle="one H-equivariant layer on one element"))
    n_pic = 3 if 3 * d <= 2048 else 2
    if (n_pic * d) ** 2 * 4 <= limits.max_bytes:
        G = groups.sets_of(subject.group, n_pic)
        table = eqsolve.solve(G, cache=False).orbit_index
        out.append(draw_sharing(table, directory / f"{key}-DSS.png", blocks=n_pic, max_points=3 * 128,
                                title=f"S_{n_pic} x H, H = {subject.label}",
                                subtitle=f"the DSS layer on a set of {n_pic}: diagonal blocks L1, off-diagonal L2"))
        del table
    return out


def _markdown(result: SuiteResult, path: Path, picture_note: str, picture_seconds: float) -> str:
    res = result.results
    counts = {s: sum(1 for r in res if r.status == s) for s in ("agree", "disagree", "unchecked")}
    lines = []
    if result.name == "paper":
        lines.append("# The paper's claims, checked at the paper's sizes")
        lines.append("")
        lines.append("Generated by `eqsolve verify --suite paper --report ...` (eqsolve "
                     f"{eqsolve.__version__}, Python {platform.python_version()}, numpy {np.__version__}).")
    else:
        lines.append("# eqsolve verify report")
    lines.append("")
    verdict = "**All claims agree.**" if counts["agree"] == len(res) else "**Not all claims agree.**"
    lines.append(f"{verdict} {len(res)} claims: {counts['agree']} agree, {counts['disagree']} disagree, "
                 f"{counts['unchecked']} could not be checked. Computation time {result.seconds:.1f} s"
                 + (f" (plus {picture_seconds:.1f} s for pictures)." if picture_seconds > 0.05 else "."))
    lines.append("")
    if result.name == "paper":
        lines.append(INTRO)
    for section in result.sections:
        lines.append(f"## {section.title}")
        lines.append("")
        lines.append(section.description)
        if section.setting is not None:
            s = section.setting
            lines.append("")
            lines.append(f"H = `{section.subject.label}` on {section.subject.action.degree} points, n = {s.n}, "
                         f"channels {s.in_channels} -> {s.out_channels}. Time: {section.seconds:.2f} s.")
            if s.note:
                lines.append("")
                lines.append(s.note)
        lines.append("")
        lines += _table(section.results)
        notes = _notes(section.results)
        if notes:
            lines.append("")
            lines.append("<details><summary>Fallbacks and skipped methods (with reasons)</summary>")
            lines.append("")
            lines += notes
            lines.append("")
            lines.append("</details>")
        for picture in section.pictures:
            rel = Path(picture["path"])
            try:
                rel = rel.relative_to(path.parent) if str(path.parent) else rel
            except ValueError:
                pass
            lines.append("")
            lines.append(f"![sharing pattern]({rel.as_posix()})")
        lines.append("")
    if picture_note:
        lines.append(picture_note)
        lines.append("")
    lines.append("## Timings")
    lines.append("")
    lines.append("| section | claims | seconds |")
    lines.append("|---|---:|---:|")
    for section in result.sections:
        lines.append(f"| {section.title} | {len(section.results)} | {section.seconds:.2f} |")
    lines.append(f"| **total** | {len(res)} | {result.seconds:.2f} |")
    lines.append("")
    return "\n".join(lines)


def _table(results: Results) -> list[str]:
    return claims_table(results, markdown=True).splitlines()


def _notes(results: Results) -> list[str]:
    lines = [f"- {note}" for note in skipped_notes(results)]
    for r in results:
        for c in r.computations:
            if c.note and ("failed" in c.note or "inconclusive" in c.note):
                lines.append(f"- {r.claim}: `{c.method}`: {c.note}")
    return lines


__all__ = ["SETTINGS", "Setting", "paper", "write_report", "single", "SuiteResult", "Section", "ClaimResult"]
