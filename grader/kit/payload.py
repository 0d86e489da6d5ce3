"""The student kit's data: visible cases shipped as data, and kit versions.

A student kit (built by ``grade release``, :mod:`grader.kit.release`) has no
``reference/`` folder.  It ships, per assignment, the *visible* case
instances with everything the engine needs to grade them, precomputed by the
instructor's side:

``grade_kit/manifest.json``
    the assignments as plain JSON (ids, titles, functions, visible cases with
    points/dtypes/descriptions/tolerances, banned names and ATen ops, limits,
    known mistakes with their hints), the number of hidden cases (never their
    ids), the kit version and one version per assignment.
``grade_kit/data/<assignment>.grd``
    one frame of the pickle-free wire format (:mod:`grader.sandbox.wire`):
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
import re
from dataclasses import asdict, dataclass

from grader import __version__
from grader.spec import Assignment, SpecError

__all__ = ["KIT_DIR", "MANIFEST", "FORMAT", "assignment_payload", "assignment_version", "kit_version",
           "combine_versions", "header_line", "parse_headers"]

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
    from grader.sandbox.wire import Array, DType, Opaque

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
    elif isinstance(v, DType):
        h.update(f"T{v.name}".encode())
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
            for part in ("inputs", "expected", "variants", "properties"):
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


def trajectory_data(traj) -> dict | None:
    """A :class:`grader.spec.Trajectory` as JSON-able data (its objective by :meth:`to_data`)."""
    if traj is None:
        return None
    return {"objective": traj.objective.to_data(), "steps": traj.steps, "param": traj.param, "grad": traj.grad,
            "carry": dict(traj.carry), "param_out": traj.param_out, "step": traj.step}


def instance_record(function, inst) -> dict:
    """What the kit ships for one visible instance (decoded values, JSON-able records).

    ``{"kind", "inputs", "expected", "variants", "ref_seconds", "seed"}``, plus
    ``"properties"`` for a random case. Trajectories and property outcomes
    travel as their ``to_data()`` forms.
    """
    from grader.catalog.instances import variant_results
    from grader.sandbox.wire import roundtrip

    variants = variant_results(function, inst)
    rec = {"kind": inst.kind, "inputs": inst.inputs, "ref_seconds": float(inst.ref_seconds), "seed": int(inst.seed)}
    if inst.kind == "trajectory":
        rec["expected"] = roundtrip(inst.expected.to_data())
        rec["variants"] = {k: roundtrip(v.to_data()) for k, v in variants.items()}
    elif inst.kind == "random":
        rec["expected"] = inst.expected
        rec["properties"] = [p.to_data() for p in inst.properties]
        rec["variants"] = {k: [o.to_data() for o in v] for k, v in variants.items()}
    else:
        rec["expected"] = inst.expected
        rec["variants"] = dict(variants)
    return rec


def assignment_payload(catalog, assignment: Assignment) -> tuple[dict, dict, str]:
    """What the kit ships for ``assignment``, from a project catalog.

    Returns:
        ``(entry, data, version)``: the manifest entry (JSON-able, hidden
        cases only counted), the data tree (decoded values, see the module
        docs) and the assignment's version.

    Raises:
        SpecError: the reference failed on a visible case (fix the spec first).
    """
    functions, data = [], {}
    hidden_cases = 0
    hidden_points = 0.0
    for f in assignment.functions:
        insts = [i for i in catalog.instances(assignment, f, include_hidden=True) if not i.case.hidden]
        recs = {}
        for inst in insts:
            if inst.error:
                raise SpecError(f"{assignment.id}.{f.name}[{inst.key}]: {inst.error}")
            recs[inst.key] = instance_record(f, inst)
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
            "banned": list(f.banned),
            "banned_ops": list(f.banned_ops),
            "mistakes": [{"id": m.id, "title": m.title, "hint": m.hint} for m in f.mistakes],
            "cases": [{"id": c.id, "points": float(c.points), "dtypes": list(c.dtypes), "description": c.description,
                       "tolerance": _tol_map(c.tolerance), "repeats": int(c.repeats), "random": bool(c.random),
                       "trajectory": trajectory_data(c.trajectory), "gradcheck": bool(c.gradcheck)}
                      for c in f.cases if not c.hidden],
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
    if catalog.kind == "kit":
        return catalog.versions[assignment.id]
    key = (id(catalog), assignment.id)
    hit = _VERSIONS.get(key)
    if hit is None or hit[0] is not catalog:
        hit = (catalog, assignment_payload(catalog, assignment)[2])
        _VERSIONS[key] = hit
    return hit[1]


def kit_version(catalog, assignment_ids: tuple[str, ...] = ()) -> str:
    """The kit version of a release of ``assignment_ids`` (default: every assignment) from ``catalog``."""
    if catalog.kind == "kit" and not assignment_ids:
        return catalog.kit_info["version"]
    ids = assignment_ids or catalog.ids
    return combine_versions({a: assignment_version(catalog, catalog.get(a)) for a in ids})
