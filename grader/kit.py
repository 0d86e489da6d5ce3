"""The student kit's data: visible cases shipped as data, and kit versions.

A student kit (built by ``grade release``, :mod:`grader.release`) has no
``reference/`` folder.  It ships, per assignment, the *visible* case
instances with everything the engine needs to grade them, precomputed by the
instructor's side:

``grade_kit/manifest.json``
    the assignments as plain JSON (ids, titles, functions, visible cases with
    points/dtypes/descriptions/tolerances, banned names and ATen ops, limits,
    known mistakes with their hints), the number of hidden cases (never their
    ids), the kit version and one version per assignment.
``grade_kit/data/<assignment>.grd``
    one frame of the pickle-free wire format (:mod:`grader.wire`):
    ``{function: {"<case>/<dtype>": {"inputs", "expected", "variants",
    "ref_seconds"}}}`` -- decoded inputs, the reference's expected output, the
    outputs of the known-mistake variants on the same inputs (so diagnoses
    work without the variants' code) and the reference's own time (which
    scales the time limit).

:func:`load_kit` turns that into a catalog with the interface the engine uses
on :class:`grader.loader.Catalog` (:class:`KitCatalog`), so ``grade check``
grades the same way in the kit as in the project, on the visible cases only.

Versions
--------
An assignment's version is a hash of what a student is graded against
locally: the grader's version, the assignment's manifest entry (without the
hidden-case counts) and a fingerprint of its data (inputs, expected outputs,
mistake outputs; not the timings).  Floating values enter the fingerprint
rounded to 4 significant digits (|x| < 1e-6 counts as 0), so the instructor's
side recomputes the same version on another machine even where float64
reductions differ in their last bits.  The kit version hashes the grader's
version and every assignment's version.

Every stub in the kit starts with ``# grade-kit: <kit version>; <id>:
<assignment version>``.  When the instructor grades a submission carrying such
a line, :func:`stale_kit_problems` compares it with the version the current
catalog gives and reports a submission made against an older kit.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import __version__
from .spec import Assignment, Case, Function, Limits, Mistake, SpecError, Tolerance

__all__ = ["KIT_DIR", "MANIFEST", "FORMAT", "KitCatalog", "find_kit", "load_kit", "assignment_payload",
           "assignment_version", "kit_version", "combine_versions", "header_line", "parse_headers",
           "stale_kit_problems"]

KIT_DIR = "grade_kit"
MANIFEST = "manifest.json"
FORMAT = 1
VERSION_CHARS = 12

#: ``# grade-kit: <kit version>; <assignment id>: <assignment version>`` (the part after ``;`` is optional).
HEADER_RE = re.compile(r"^[ \t]*#[ \t]*grade-kit:[ \t]*(?P<kit>[0-9a-f]{6,64})"
                       r"(?:[ \t]*;[ \t]*(?P<aid>[A-Za-z_]\w*)[ \t]*:[ \t]*(?P<av>[0-9a-f]{6,64}))?", re.M)


def header_line(kit: str, assignment_id: str, assignment_ver: str) -> str:
    """The first line of every stub in a kit (no newline)."""
    return (f"# grade-kit: {kit}; {assignment_id}: {assignment_ver}  "
            "(keep this line: it tells your instructor which kit you worked from)")


@dataclass(frozen=True)
class KitHeader:
    """A ``# grade-kit:`` line found in a submission."""

    kit: str
    assignment: str | None
    assignment_version: str | None
    line: int


def parse_headers(source: str) -> list[KitHeader]:
    """Every ``# grade-kit:`` line of ``source``, in order."""
    out = []
    for m in HEADER_RE.finditer(source):
        out.append(KitHeader(kit=m["kit"], assignment=m["aid"], assignment_version=m["av"],
                             line=source.count("\n", 0, m.start()) + 1))
    return out


# ---------------------------------------------------------------------------
# fingerprints and versions


def _tol_map(table) -> dict | None:
    if table is None:
        return None
    return {dt: [float(t.rtol), float(t.atol)] for dt, t in table.items()}


def _quantize(data):
    """(kind, exponent, mantissa) arrays: values rounded to 4 significant digits; |x| < 1e-6 -> 0."""
    import numpy as np

    a = np.asarray(data, dtype=np.float64).ravel()
    kind = np.zeros(a.shape, dtype=np.int8)
    kind[np.isnan(a)] = 1
    kind[np.isposinf(a)] = 2
    kind[np.isneginf(a)] = 3
    use = (kind == 0) & (np.abs(a) >= 1e-6)
    exp = np.zeros(a.shape, dtype=np.int64)
    man = np.zeros(a.shape, dtype=np.int64)
    if use.any():
        v = a[use]
        e = np.floor(np.log10(np.abs(v))).astype(np.int64)
        exp[use] = e
        man[use] = np.rint(v / np.power(10.0, (e - 3).astype(np.float64))).astype(np.int64)
    return kind, exp, man


def _fingerprint(h, v) -> None:
    """Feed a decoded value tree into hasher ``h`` (floats rounded, see the module docs)."""
    from .wire import Array, Opaque

    if isinstance(v, Array):
        h.update(f"A{v.dtype}{list(v.shape)}{v.kind}".encode())
        if v.dtype.startswith(("float", "complex")):
            for part in _quantize(v.data.real if v.dtype.startswith("complex") else v.data):
                h.update(part.tobytes())
        else:
            h.update(v.data.tobytes())
    elif isinstance(v, float):
        if math.isfinite(v) and abs(v) >= 1e-6:
            h.update(b"f" + f"{v:.3e}".encode())
        else:
            h.update(b"f" + (repr(v) if not math.isfinite(v) else "0").encode())
    elif isinstance(v, (bool, int, str)) or v is None:
        h.update(f"{type(v).__name__}:{v!r}".encode())
    elif isinstance(v, (tuple, list)):
        h.update(f"{type(v).__name__}{len(v)}(".encode())
        for x in v:
            _fingerprint(h, x)
        h.update(b")")
    elif isinstance(v, dict):
        h.update(f"d{len(v)}(".encode())
        for k in sorted(v, key=repr):
            h.update(repr(k).encode())
            _fingerprint(h, v[k])
        h.update(b")")
    elif isinstance(v, Opaque):
        h.update(f"O{v.type}".encode())
    else:  # pragma: no cover - decoded trees hold nothing else
        h.update(type(v).__name__.encode())


def _version_of(entry: dict, data: dict) -> str:
    h = hashlib.sha256()
    h.update(json.dumps({"format": FORMAT, "grade": __version__, "entry": entry}, sort_keys=True,
                        separators=(",", ":")).encode())
    for fname in sorted(data):
        for key in sorted(data[fname]):
            rec = data[fname][key]
            h.update(f"|{fname}/{key}|".encode())
            for part in ("inputs", "expected", "variants"):
                h.update(part.encode())
                _fingerprint(h, rec.get(part))
    return h.hexdigest()[:VERSION_CHARS]


def combine_versions(versions: dict[str, str]) -> str:
    """The kit version from ``{assignment id: assignment version}`` (order-independent)."""
    text = json.dumps({"format": FORMAT, "grade": __version__, "assignments": dict(sorted(versions.items()))},
                      separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:VERSION_CHARS]


# ---------------------------------------------------------------------------
# building the payload of one assignment (instructor side: needs the references)


def assignment_payload(catalog, assignment: Assignment) -> tuple[dict, dict, str]:
    """What the kit ships for ``assignment``, from a project catalog.

    Returns:
        ``(entry, data, version)``: the manifest entry (JSON-able, hidden
        cases only counted), the data tree (decoded values, see the module
        docs) and the assignment's version.

    Raises:
        SpecError: the reference failed on a visible case (fix the spec first).
    """
    from .diagnose import variant_outputs

    functions, data = [], {}
    hidden_cases = 0
    hidden_points = 0.0
    for f in assignment.functions:
        insts = [i for i in catalog.instances(assignment, f, include_hidden=True) if not i.case.hidden]
        recs = {}
        for inst in insts:
            if inst.error:
                raise SpecError(f"{assignment.id}.{f.name}[{inst.key}]: {inst.error}")
            if inst.variants is None:
                inst.variants = variant_outputs(f, inst.call)
            recs[inst.key] = {"inputs": inst.inputs, "expected": inst.expected, "variants": dict(inst.variants),
                              "ref_seconds": float(inst.ref_seconds)}
        data[f.name] = recs
        hidden = [c for c in f.cases if c.hidden]
        hidden_cases += len(hidden)
        hidden_points += sum(c.points for c in hidden)
        functions.append({
            "name": f.name,
            "arg_names": list(catalog.arg_names(assignment, f)),
            "check_unmodified": bool(f.check_unmodified),
            "tolerance": _tol_map(f.tolerance),
            "limits": asdict(f.limits) if f.limits else None,
            "mistakes": [{"id": m.id, "title": m.title, "hint": m.hint} for m in f.mistakes],
            "cases": [{"id": c.id, "points": float(c.points), "dtypes": list(c.dtypes), "description": c.description,
                       "tolerance": _tol_map(c.tolerance)} for c in f.cases if not c.hidden],
        })
    entry = {
        "id": assignment.id,
        "title": assignment.title,
        "banned": list(assignment.banned),
        "banned_ops": list(assignment.banned_ops),
        "tolerance": _tol_map(assignment.tolerance),
        "limits": asdict(assignment.limits),
        "functions": functions,
    }
    version = _version_of(entry, data)
    entry.update(version=version, hidden_cases=hidden_cases, hidden_points=hidden_points,
                 max_score=float(assignment.max_score))
    return entry, data, version


_VERSIONS: dict[tuple[int, str], tuple[object, str]] = {}


def assignment_version(catalog, assignment: Assignment) -> str:
    """The version ``grade release`` gives ``assignment`` from ``catalog`` (a kit's: as shipped).

    Computed once per catalog and assignment (it evaluates the visible cases
    and the mistake variants, about a second for the largest assignment).
    """
    if getattr(catalog, "kind", "") == "kit":
        return catalog.versions[assignment.id]
    key = (id(catalog), assignment.id)
    hit = _VERSIONS.get(key)
    if hit is None or hit[0] is not catalog:
        hit = (catalog, assignment_payload(catalog, assignment)[2])
        _VERSIONS[key] = hit
    return hit[1]


def kit_version(catalog, assignment_ids: tuple[str, ...] = ()) -> str:
    """The kit version of a release of ``assignment_ids`` (default: every assignment) from ``catalog``."""
    if getattr(catalog, "kind", "") == "kit" and not assignment_ids:
        return catalog.kit_info["version"]
    ids = assignment_ids or catalog.ids
    return combine_versions({a: assignment_version(catalog, catalog.get(a)) for a in ids})


# ---------------------------------------------------------------------------
# the kit catalog (student side)


def _no_generator(g, dtype):  # pragma: no cover - the engine never calls it for kit cases
    raise SpecError("this case comes from the student kit's data; it has no input generator")


def _shipped_output(*args, **kwargs):  # pragma: no cover - outputs are precomputed
    raise SpecError("the student kit ships this mistake's outputs, not its code")


def _tols(table: dict | None):
    if table is None:
        return None
    return {dt: Tolerance(rtol=float(v[0]), atol=float(v[1])) for dt, v in table.items()}


def _assignment_from_entry(e: dict) -> Assignment:
    functions = []
    for f in e["functions"]:
        cases = tuple(Case(id=c["id"], make=_no_generator, points=float(c["points"]), hidden=False,
                           dtypes=tuple(c["dtypes"]), description=c.get("description", ""),
                           tolerance=_tols(c.get("tolerance")))
                      for c in f["cases"])
        mistakes = tuple(Mistake(id=m["id"], hint=m["hint"], variant=_shipped_output, title=m.get("title", ""))
                         for m in f.get("mistakes", ()))
        functions.append(Function(name=f["name"], cases=cases, mistakes=mistakes, tolerance=_tols(f.get("tolerance")),
                                  check_unmodified=bool(f.get("check_unmodified", True)),
                                  limits=Limits(**f["limits"]) if f.get("limits") else None))
    kw = {}
    if e.get("tolerance"):
        kw["tolerance"] = _tols(e["tolerance"])
    return Assignment(id=e["id"], title=e["title"], functions=tuple(functions), banned=tuple(e.get("banned", ())),
                      banned_ops=tuple(e.get("banned_ops", ())), limits=Limits(**e.get("limits", {})), **kw)


@dataclass(frozen=True)
class KitCatalog:
    """A student kit's assignments: the interface of :class:`grader.loader.Catalog`, from shipped data.

    Attributes:
        root: the kit's ``grade_kit`` folder.
        reference_dir: the kit's data folder (``grade_kit/data``); the sandbox
            denies student code any read of it, as it does the references.
        assignments: rebuilt from the manifest, visible cases only.
        versions: assignment id -> assignment version.
        kit_info: ``{"version", "hidden_cases", "hidden_points", "max_score",
            "visible_max_score", "grade_version", "created"}`` (becomes
            :attr:`grader.results.GradeResult.kit`).
        manifest: the parsed manifest.
    """

    root: str
    reference_dir: str
    assignments: tuple[Assignment, ...]
    versions: dict
    kit_info: dict
    manifest: dict
    hidden_salt: str = ""
    _entries: dict = field(default_factory=dict, compare=False, repr=False)
    _data: dict = field(default_factory=dict, compare=False, repr=False)
    _instances: dict = field(default_factory=dict, compare=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    kind = "kit"

    def get(self, id: str) -> Assignment:
        """The assignment ``id``.

        Raises:
            SpecError: the kit has no such assignment.
        """
        for a in self.assignments:
            if a.id == id:
                return a
        known = ", ".join(a.id for a in self.assignments)
        raise SpecError(f"unknown assignment {id!r}; this kit has: {known}")

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(a.id for a in self.assignments)

    def secret_roots(self) -> tuple[str, ...]:
        return (self.reference_dir,)

    def _load_data(self, aid: str) -> dict:
        with self._lock:  # the engine grades several functions at once, in threads
            data = self._data.get(aid)
            if data is None:
                data = self._read_data(aid)
                self._data[aid] = data
            return data

    def _read_data(self, aid: str) -> dict:
        from .wire import WireError, decode_bytes

        entry = self._entries[aid]
        path = Path(self.root) / entry["data"]
        try:
            blob = path.read_bytes()
        except OSError as e:
            raise SpecError(f"{path}: cannot read the kit's data for {aid} ({e.strerror}). Restore the "
                            f"{KIT_DIR}/ folder from the kit you were given.") from None
        if hashlib.sha256(blob).hexdigest() != entry["sha256"]:
            raise SpecError(f"{path}: the kit's data for {aid} was modified (checksum mismatch). Restore it from "
                            f"the kit you were given (e.g. `git checkout -- {KIT_DIR}`).")
        try:
            meta, data = decode_bytes(blob)
        except (WireError, EOFError) as e:
            raise SpecError(f"{path}: unreadable kit data ({e}). Restore it from the kit you were given.") from None
        if not isinstance(data, dict) or meta.get("assignment") != aid:
            raise SpecError(f"{path}: this is not the data of assignment {aid}.")
        return data

    def instances(self, assignment: Assignment, function, *, include_hidden: bool = True) -> list:
        """The visible instances of ``function`` (:class:`grader.cases.Instance`, ``call=None``).

        ``include_hidden`` is accepted for the catalog interface; a kit has no hidden cases.

        Raises:
            SpecError: the data file is missing, modified, or lacks an instance the manifest names.
        """
        from .cases import Instance

        key = (assignment.id, function.name)
        insts = self._instances.get(key)
        if insts is not None:
            return insts
        recs = self._load_data(assignment.id).get(function.name, {})
        insts = []
        for case in function.cases:
            for dtype in case.dtypes:
                ikey = f"{case.id}/{dtype}"
                rec = recs.get(ikey)
                if not isinstance(rec, dict):
                    raise SpecError(f"{KIT_DIR}/data/{assignment.id}.grd: no data for {function.name}[{ikey}]; "
                                    "the kit is incomplete. Restore it from the kit you were given.")
                insts.append(Instance(case=case, dtype=dtype, key=ikey, inputs=rec["inputs"],
                                      expected=rec["expected"], points=case.points / len(case.dtypes),
                                      ref_seconds=float(rec.get("ref_seconds") or 0.0), call=None,
                                      variants=dict(rec.get("variants") or {})))
        self._instances[key] = insts
        return insts

    def arg_names(self, assignment: Assignment, function) -> list[str]:
        for f in self._entries[assignment.id]["functions"]:
            if f["name"] == function.name:
                return list(f.get("arg_names", ()))
        return []


def find_kit(start: str | os.PathLike | None = None) -> Path | None:
    """The ``grade_kit`` folder of the kit we are in, or None.

    Looked for in ``$GRADE_KIT`` (a kit root or its ``grade_kit`` folder),
    then in ``start`` (default: the working directory) and its parents, then
    beside the installed ``grader`` package (a kit installs its own copy).
    """
    def at(d: Path) -> Path | None:
        for cand in (d / KIT_DIR, d):
            if (cand / MANIFEST).is_file() and cand.name == KIT_DIR:
                return cand
        return None

    env = os.environ.get("GRADE_KIT")
    if env:
        return at(Path(env).resolve())
    here = Path(start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        hit = at(d)
        if hit is not None:
            return hit
    return at(Path(__file__).resolve().parent.parent)


_KITS: dict[tuple, KitCatalog] = {}


def load_kit(path: str | os.PathLike) -> KitCatalog:
    """Load a kit from its root or its ``grade_kit`` folder.

    Raises:
        SpecError: no manifest, an unreadable or incompatible manifest.
    """
    p = Path(path).resolve()
    root = p / KIT_DIR if (p / KIT_DIR / MANIFEST).is_file() else p
    mpath = root / MANIFEST
    try:
        st = mpath.stat()
        text = mpath.read_text(encoding="utf-8")
    except OSError:
        raise SpecError(f"no student kit at {p}: {mpath} is missing. Run grade in the kit's folder, or restore "
                        f"{KIT_DIR}/ from the kit you were given.") from None
    key = (str(root), st.st_mtime_ns, st.st_size)
    if key in _KITS:
        return _KITS[key]
    try:
        manifest = json.loads(text)
    except ValueError as e:
        raise SpecError(f"{mpath}: not valid JSON ({e}). Restore it from the kit you were given.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise SpecError(f"{mpath}: kit format {manifest.get('format') if isinstance(manifest, dict) else '?'} is "
                        f"not the format {FORMAT} this grader reads. Use the grader shipped with the kit.")
    try:
        entries = {e["id"]: e for e in manifest["assignments"]}
        assignments = tuple(_assignment_from_entry(e) for e in manifest["assignments"])
    except (KeyError, TypeError, ValueError) as e:
        raise SpecError(f"{mpath}: malformed kit manifest ({type(e).__name__}: {e}).") from None
    info = {k: manifest.get(k) for k in ("version", "hidden_cases", "hidden_points", "max_score",
                                         "visible_max_score", "grade_version", "created")}
    cat = KitCatalog(root=str(root), reference_dir=str(root / "data"), assignments=assignments,
                     versions={aid: e.get("version", "") for aid, e in entries.items()}, kit_info=info,
                     manifest=manifest, _entries=entries)
    _KITS[key] = cat
    return cat


# ---------------------------------------------------------------------------
# stale kits (instructor side)


def stale_kit_problems(submission, catalog, *, assignments: tuple[str, ...] = ()) -> list[str]:
    """Problems for files of ``submission`` made against another kit than ``catalog`` gives now.

    A file carrying ``# grade-kit: <kit>; <id>: <version>`` is stale when
    ``<version>`` differs from the current version of assignment ``<id>``
    (:func:`assignment_version`); a line without the assignment part is
    compared with the kit version of every assignment.  Files without the
    line (written from scratch, notebooks) are not checked.

    Args:
        submission: a :class:`grader.loader.Submission`.
        catalog: the project's catalog (or a kit's).
        assignments: only check these assignment ids (default: all).

    Returns:
        One readable line per stale file and assignment; empty when none.
    """
    out: list[str] = []
    seen: set[tuple[str, str | None]] = set()
    for module in submission.modules.values():
        where = os.path.basename(module.filename)
        for hdr in parse_headers(module.source):
            aid = hdr.assignment
            if (module.filename, aid) in seen:
                continue
            seen.add((module.filename, aid))
            if aid is not None:
                if aid not in catalog.ids or (assignments and aid not in assignments):
                    continue
                try:
                    current = assignment_version(catalog, catalog.get(aid))
                except Exception as e:  # never let the version check break a grade
                    out.append(f"could not compare {where} with the current kit ({type(e).__name__}: {e}).")
                    continue
                if hdr.assignment_version != current:
                    out.append(f"graded against a stale kit: {where} (line {hdr.line}) was written against "
                               f"kit {hdr.kit}, {aid} version {hdr.assignment_version}; the current release of "
                               f"{aid} is version {current}. Visible cases, tolerances or hints may have changed "
                               f"since: this grade uses the current cases. Get the current kit to see them.")
            else:
                current = kit_version(catalog)
                if hdr.kit != current:
                    out.append(f"graded against a stale kit: {where} (line {hdr.line}) was written against kit "
                               f"{hdr.kit}; the current kit is {current}. This grade uses the current cases.")
    return out

