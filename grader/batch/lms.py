"""Naming rules: how an entry's student id comes from its name, for plain folders and LMS exports.

Entry kinds (a plain folder of submissions): a folder of modules
(``<assignment>.py`` / ``.ipynb``), one ``.py``, one ``.ipynb``, or a ``.zip``
of any of those.  LMS exports are recognised by their names:

* **Canvas** (flat files): ``<login>_<userid>_<submissionid>_<file>`` and, for
  late work, ``<login>_late_<userid>_<submissionid>_<file>``.  All files of a
  student form one entry; Canvas's re-upload suffix (``<id>-1.py``) is
  dropped (:func:`undo_reupload_suffix`).  Student id: ``<login>_<userid>``.
* **Moodle**: folders ``<Full Name>_<id>_assignsubmission_file_`` (or flat
  files ``<Full Name>_<id>_assignsubmission_file_<file>``).  Student id: the
  full name in lower-case ASCII with ``_`` for spaces, then ``_<id>``
  (``ada_lovelace_123456``).
* **Gradescope**: a folder per submission (``submission_<n>``) next to a
  ``submission_metadata.yml``.  Student id: the submitter's SID, else the
  e-mail's local part, else the folder name; group submissions join the ids
  with ``+``.
* Anything else: the entry's name without ``.py``/``.ipynb``/``.zip``, with
  every character outside ``A-Z a-z 0-9 . _ -`` replaced by ``_``
  (:func:`sanitize_id`).

Making ids unique is :func:`grader.batch.discover.dedupe`'s job.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path, PurePosixPath

from grader.batch.archive import walk_files
from grader.batch.records import Entry

__all__ = ["sanitize_id", "plain_id", "slug", "plain_entry", "lms_entries", "gradescope_entries",
           "gradescope_metadata", "undo_reupload_suffix", "RESERVED_IDS"]

RESERVED_IDS = frozenset({"gradebook", "class_report", "index"})
"""Ids that would clash with the output folder's own files; they become ``student_<id>``."""

_CANVAS = re.compile(r"^(?P<login>[^_/]+?)(?P<late>_late)?_(?P<uid>\d+)_(?P<sid>\d+)_(?P<file>.+)$")
_MOODLE_DIR = re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z]+)_$")
_MOODLE_FILE = re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<file>.+)$")
_REUPLOAD = re.compile(r"^(?P<stem>[A-Za-z_]\w*)-\d+(?P<ext>\.py|\.ipynb)$")


def slug(text: str) -> str:
    """``text`` in lower-case ASCII, runs of other characters as one ``_`` (``José Núñez`` -> ``jose_nunez``)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")


def sanitize_id(text: str) -> str:
    """A student id safe as a file name: ``A-Z a-z 0-9 . _ -`` only, at most 100 characters, never empty
    (``entry``) and never a name the output folder uses (``gradebook`` -> ``student_gradebook``)."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-")
    s = re.sub(r"_+", "_", s)[:100]
    if not s:
        return "entry"
    if s.lower() in RESERVED_IDS:
        s = f"student_{s}"
    return s


def plain_id(name: str) -> str:
    """The id of a plain entry: its name without ``.py``/``.ipynb``/``.zip``, sanitized."""
    p = PurePosixPath(name)
    stem = p.stem if p.suffix.lower() in (".py", ".ipynb", ".zip") else p.name
    return sanitize_id(stem)


def plain_entry(c: Path, notes: list[str]) -> Entry:
    """The entry of one plain file or folder ``c`` (folder, ``py``, ``ipynb``, ``zip`` or ``other``).

    An empty folder or a file of another kind gets an ``error`` (graded as an error row).
    Skipped files inside a folder are appended to ``notes``.
    """
    eid = plain_id(c.name)
    if c.is_dir():
        files, more = walk_files(c)
        notes.extend(more)
        err = "" if files else (f"{c.name}/: empty folder (no files). Expected the student's <assignment>.py "
                                "modules, one .py or one .ipynb.")
        return Entry(id=eid, name=c.name + "/", kind="folder", files=tuple(files), error=err)
    suffix = c.suffix.lower()
    kind = {".py": "py", ".ipynb": "ipynb", ".zip": "zip"}.get(suffix, "other")
    err = "" if kind != "other" else (f"{c.name}: not a submission this grader reads (expected a folder, a .py, a "
                                      ".ipynb or a .zip).")
    return Entry(id=eid, name=c.name, kind=kind, files=((c.name, str(c)),), error=err)


def lms_entries(children: list[Path]) -> tuple[list[Entry], str, list[str]]:
    """The entries of a folder that is plain, a Canvas export or a Moodle export (or a mix).

    Canvas files are grouped per ``(login, user id)``; of two uploads of the same file the
    later submission id is kept.  Moodle folders and flat files are grouped per
    ``(full name, participant id)``.  Everything else is a :func:`plain_entry`.

    Args:
        children: the folder's children, sorted by name, junk already left out.

    Returns:
        (entries in no particular order, source: ``plain``, ``canvas``, ``moodle`` or ``mixed``, notes).
    """
    notes: list[str] = []
    raw: list[Entry] = []
    canvas: dict[tuple[str, str], list[tuple[Path, re.Match]]] = {}
    moodle: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for c in children:
        if c.is_symlink():
            notes.append(f"{c.name}: skipped (a symbolic link)")
            continue
        m = _MOODLE_DIR.match(c.name) if c.is_dir() else None
        if m:
            files, more = walk_files(c)
            notes.extend(more)
            moodle.setdefault((m.group("name"), m.group("id")), []).extend(files)
            continue
        if c.is_file():
            m = _MOODLE_FILE.match(c.name)
            if m:
                moodle.setdefault((m.group("name"), m.group("id")), []).append((m.group("file"), str(c)))
                continue
            m = _CANVAS.match(c.name)
            if m:
                canvas.setdefault((m.group("login"), m.group("uid")), []).append((c, m))
                continue
        raw.append(plain_entry(c, notes))
    for (login, uid), items in sorted(canvas.items()):
        files_by_name: dict[str, tuple[int, str]] = {}
        late = False
        for path, m in items:
            late = late or bool(m.group("late"))
            fname = m.group("file")
            sid = int(m.group("sid"))
            if fname in files_by_name and files_by_name[fname][0] > sid:
                notes.append(f"{path.name}: skipped, a later upload of {fname} by {login} is kept")
                continue
            files_by_name[fname] = (sid, str(path))
        raw.append(Entry(id=sanitize_id(f"{login}_{uid}"), name=f"{login}_{uid}", kind="files",
                         source="canvas", files=tuple(sorted((k, v[1]) for k, v in files_by_name.items())),
                         student_name=login, lms_id=uid, late=late))
    for (name, mid), files in sorted(moodle.items()):
        raw.append(Entry(id=sanitize_id(f"{slug(name) or 'student'}_{mid}"), name=f"{name}_{mid}",
                         kind="files", source="moodle", files=tuple(sorted(files)), student_name=name,
                         lms_id=mid))
    source = "plain"
    if canvas and not moodle:
        source = "canvas"
    elif moodle and not canvas:
        source = "moodle"
    elif canvas and moodle:
        source = "mixed"
    return raw, source, notes


def gradescope_metadata(text: str) -> dict[str, list[dict[str, str]]]:
    """Submitters per submission folder from Gradescope's ``submission_metadata.yml`` (Ruby-style YAML).

    Only ``:name:``, ``:sid:`` and ``:email:`` of ``:submitters:`` are read, line by line
    (no YAML library, no object tags followed).

    Returns:
        ``{folder name: [{"name": ..., "sid": ..., "email": ...}, ...]}`` (keys present as found).
    """
    out: dict[str, list[dict[str, str]]] = {}
    current: list[dict[str, str]] | None = None
    in_submitters = False
    sub_indent = -1
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        top = re.match(r"^(['\"]?)([^\s:'\"][^:]*?)\1:\s*$", line)
        if indent == 0 and top:
            current = out.setdefault(top.group(2).strip(), [])
            in_submitters = False
            continue
        if current is None:
            current = out.setdefault("", [])
        s = line.strip()
        if re.match(r"^:?submitters:?\s*$", s.lstrip("- ")):
            in_submitters = True
            sub_indent = indent
            continue
        if in_submitters and indent <= sub_indent and not s.startswith("-"):
            in_submitters = False
        if not in_submitters:
            continue
        m = re.match(r"^(-\s+)?:?(name|sid|email):?\s*(.*)$", s)
        if not m:
            if s.startswith("-"):
                current.append({})
            continue
        if m.group(1) or not current:
            current.append({})
        value = m.group(3).strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        current[-1][m.group(2)] = value
    return out


def gradescope_entries(root: Path, children: list[Path]) -> tuple[list[Entry], list[str]]:
    """The entries of a Gradescope export: one per submission folder, ids from ``submission_metadata.yml``
    (or a folder's own copy of it); files next to the folders are :func:`plain_entry` entries.

    Returns:
        (entries in folder order, notes).
    """
    notes: list[str] = []
    try:
        meta = gradescope_metadata((root / "submission_metadata.yml").read_text(encoding="utf-8", errors="replace"))
    except OSError as e:
        meta = {}
        notes.append(f"submission_metadata.yml: cannot be read ({e}); ids are the folder names")
    entries = []
    for c in children:
        if c.name == "submission_metadata.yml":
            continue
        if not c.is_dir():
            entries.append(plain_entry(c, notes))
            continue
        submitters = meta.get(c.name) or []
        own = c / "submission_metadata.yml"
        if not submitters and own.is_file():
            sub_meta = gradescope_metadata(own.read_text(encoding="utf-8", errors="replace"))
            submitters = next((v for v in sub_meta.values() if v), [])
        ids = []
        for s in submitters:
            sid = s.get("sid") or (s.get("email", "").split("@")[0])
            if sid:
                ids.append(sanitize_id(sid))
        eid = "+".join(ids) if ids else sanitize_id(c.name)
        files, more = walk_files(c)
        files = [f for f in files if f[0] != "submission_metadata.yml"]
        notes.extend(more)
        err = "" if files else f"{c.name}/: empty submission folder (no files)."
        entries.append(Entry(id=eid, name=c.name + "/", kind="folder", source="gradescope", files=tuple(files),
                             student_name="; ".join(s.get("name", "") for s in submitters if s.get("name")),
                             lms_id=c.name, error=err))
    return entries, notes


def undo_reupload_suffix(files: dict[str, bytes], ids: tuple[str, ...]) -> dict[str, bytes]:
    """Rename Canvas's re-uploads back: a top-level ``<assignment>-<n>.py``/``.ipynb`` becomes
    ``<assignment>.py``/``.ipynb`` when ``<assignment>`` is one of ``ids`` and that name is free.

    Changes ``files`` in place and returns it.
    """
    for rel in list(files):
        m = _REUPLOAD.match(rel)
        if m and m.group("stem") in ids and f"{m.group('stem')}{m.group('ext')}" not in files:
            files[f"{m.group('stem')}{m.group('ext')}"] = files.pop(rel)
    return files
