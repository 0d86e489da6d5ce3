"""The student kit's catalog: visible cases rebuilt from shipped data (student side).

:func:`load_kit` turns a kit's ``grade_kit/`` folder (see
:mod:`grader.kit.payload`) into a catalog with the interface the engine uses
(:class:`grader.catalog.Catalog`), so ``grade check`` grades the same way in
the kit as in the project, on the visible cases only.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from grader.kit.payload import FORMAT, KIT_DIR, MANIFEST, assignment_version, kit_version, parse_headers
from grader.spec import Assignment, Case, Function, Limits, Mistake, SpecError, Tolerance

__all__ = ["KitCatalog", "find_kit", "load_kit", "stale_kit_problems"]


def _no_generator(g, dtype):  # pragma: no cover - the engine never calls it for kit cases
    raise SpecError("this case comes from the student kit's data; it has no input generator")


def _shipped_output(*args, **kwargs):  # pragma: no cover - outputs are precomputed
    raise SpecError("the student kit ships this mistake's outputs, not its code")


def _tols(table: dict | None):
    if table is None:
        return None
    return {dt: Tolerance(rtol=float(v[0]), atol=float(v[1])) for dt, v in table.items()}


def _shipped_properties(call):  # pragma: no cover - a kit instance carries its own properties
    raise SpecError("the student kit ships this case's properties per instance")


def _trajectory(d: dict | None):
    if not d:
        return None
    from grader.judge.objectives import from_data
    from grader.spec import Trajectory

    return Trajectory(objective=from_data(d["objective"]), steps=int(d["steps"]), param=d["param"], grad=d["grad"],
                      carry=dict(d.get("carry") or {}), param_out=d.get("param_out"), step=d.get("step"))


def _assignment_from_entry(e: dict) -> Assignment:
    functions = []
    for f in e["functions"]:
        cases = tuple(Case(id=c["id"], make=_no_generator, points=float(c["points"]), hidden=False,
                           dtypes=tuple(c["dtypes"]), description=c.get("description", ""),
                           tolerance=_tols(c.get("tolerance")), repeats=int(c.get("repeats", 1)),
                           properties=_shipped_properties if c.get("random") else (),
                           trajectory=_trajectory(c.get("trajectory")), gradcheck=bool(c.get("gradcheck", True)))
                      for c in f["cases"])
        mistakes = tuple(Mistake(id=m["id"], hint=m["hint"], variant=_shipped_output, title=m.get("title", ""))
                         for m in f.get("mistakes", ()))
        functions.append(Function(name=f["name"], cases=cases, mistakes=mistakes, tolerance=_tols(f.get("tolerance")),
                                  check_unmodified=bool(f.get("check_unmodified", True)),
                                  limits=Limits(**f["limits"]) if f.get("limits") else None,
                                  banned=tuple(f.get("banned", ())), banned_ops=tuple(f.get("banned_ops", ()))))
    kw = {}
    if e.get("tolerance"):
        kw["tolerance"] = _tols(e["tolerance"])
    return Assignment(id=e["id"], title=e["title"], functions=tuple(functions), banned=tuple(e.get("banned", ())),
                      banned_ops=tuple(e.get("banned_ops", ())), limits=Limits(**e.get("limits", {})), **kw)


def _instance(case, dtype: str, key: str, rec: dict):
    """An :class:`~grader.catalog.instances.Instance` from a kit record (see :func:`grader.kit.payload.instance_record`)."""
    from grader.catalog.instances import Instance
    from grader.judge.properties import Outcome
    from grader.judge.properties import from_data as property_from_data
    from grader.judge.trajectory import Run

    kind = rec.get("kind", "plain")
    expected, variants, props = rec["expected"], dict(rec.get("variants") or {}), ()
    if kind == "trajectory":
        expected = Run.from_data(expected)
        variants = {k: Run.from_data(v) for k, v in variants.items()}
    elif kind == "random":
        props = tuple(property_from_data(p) for p in rec.get("properties", ()))
        variants = {k: [Outcome.from_data(o) for o in v] for k, v in variants.items()}
    return Instance(case=case, dtype=dtype, key=key, inputs=rec["inputs"], expected=expected,
                    points=case.points / len(case.dtypes), ref_seconds=float(rec.get("ref_seconds") or 0.0),
                    call=None, variants=variants, seed=int(rec.get("seed") or 0), properties=props)


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
        from grader.sandbox.wire import WireError, decode_bytes

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

    def instances(self, assignment: Assignment, function, *, include_hidden: bool = True,
                  submission_key: str = "") -> list:
        """The visible instances of ``function`` (:class:`grader.catalog.instances.Instance`, ``call=None``).

        ``include_hidden`` is accepted for the catalog interface; a kit has no hidden cases.

        Raises:
            SpecError: the data file is missing, modified, or lacks an instance the manifest names.
        """
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
                insts.append(_instance(case, dtype, ikey, rec))
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
    return at(Path(__file__).resolve().parents[2])


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

