"""Compare a decoded student output with the expected output.

Order of checks, as in :mod:`torch.testing._comparison`: structure (tuple,
dict, None, tensor), then shape, dtype and device, then non-finite values,
then values.  Structure is compared by kind, not exact class: any tuple or
list (a ``namedtuple``) where a tuple is expected, any mapping (an
``OrderedDict``) where a dict is; the class name is kept for messages.

Values: an element passes when

    |got - expected| <= atol + rtol * max(|expected|, scale)

where ``scale`` is the largest finite |expected| of its row (the last axis;
the whole tensor when 1-D).  This is ``torch.testing.assert_close``'s rule
(``atol + rtol * |expected|``) made *scale-aware* the way CS231n's
``rel_error`` judges gradients: an element that should be 0 (or tiny next to
its neighbours) is allowed the error that its row's magnitude allows, so a
``1e-8`` stabilising epsilon, or a different but correct order of summation,
passes; a wrong formula, which is wrong by a sizeable fraction of the row's
magnitude, still fails.  :func:`scale_note` explains a pass that needed this
leniency.

Every mismatch message says where (``output[1]['W2']``), how many elements
differ, the worst absolute and relative error with its index, the tolerance
allowed, and an excerpt of expected vs got.  Lists of strings (a vocabulary,
tokens) are reported as the first differing position plus the missing and
unexpected strings.

All arithmetic here runs in the grader's own process on numpy arrays decoded
by :mod:`grader.sandbox.wire`; nothing the student's process did can change it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grader.spec import Tolerance
from grader.sandbox.wire import DISPATCH_NOTE, Array, Opaque, class_name

__all__ = ["Mismatch", "compare", "matches", "describe_value", "scale_note", "row_scale"]


@dataclass(frozen=True)
class Mismatch:
    """One failed check of one leaf of the output.

    Attributes:
        path: where in the output (``"output[0]"``, ``"output[1]['W1']"``).
        kind: ``structure`` | ``shape`` | ``dtype`` | ``device`` | ``nonfinite`` | ``values``.
        message: what happened and what was expected, in one or a few lines.
        expected_excerpt / got_excerpt: a few values around the worst element.
        n_differ / n_total: elements outside tolerance, and elements compared.
        max_abs / max_abs_index, max_rel / max_rel_index: the worst errors.
    """

    path: str
    kind: str
    message: str
    expected_excerpt: str = ""
    got_excerpt: str = ""
    n_differ: int = 0
    n_total: int = 0
    max_abs: float = 0.0
    max_abs_index: tuple[int, ...] = ()
    max_rel: float = 0.0
    max_rel_index: tuple[int, ...] = ()


def describe_value(v) -> str:
    """Short human description of a decoded value: ``tensor float32 (3, 4) on cpu``."""
    if isinstance(v, Array):
        what = "tensor" if v.kind == "tensor" else "numpy array"
        cls = "" if v.cls in ("Tensor", "ndarray") else f" (class {v.cls})"
        return f"{what} {v.dtype} {_shape(v.shape)} on {v.device}{cls}"
    if v is None:
        return "None"
    if isinstance(v, Opaque):
        if v.repr == DISPATCH_NOTE:  # (a subclass the encoder would not read: say why)
            return f"{v.type} object: {v.repr}"
        return f"{v.type} object"
    cls = class_name(v)
    named = f" ({cls})" if cls else ""
    if isinstance(v, tuple):
        return f"tuple of {len(v)}{named}"
    if isinstance(v, list):
        return f"list of {len(v)}{named}"
    if isinstance(v, dict):
        return f"dict with keys {sorted(map(str, v))}{named}"
    return f"{type(v).__name__} {v!r}"[:80]


def _seq_word(v) -> str:
    return "list" if isinstance(v, list) else "tuple"


def _all_str(v) -> bool:
    return isinstance(v, (tuple, list)) and all(isinstance(x, str) for x in v)


def _quote_list(items, limit: int = 8) -> str:
    shown = ", ".join(repr(x) for x in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _shape(shape) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def _idx(index) -> str:
    return "[" + ", ".join(str(int(i)) for i in index) + "]" if len(index) else "[]"


def compare(expected, got, *, tol: Tolerance, path: str = "output", check_dtype: bool = True,
            check_device: str | None = None) -> list[Mismatch]:
    """Compare ``got`` with ``expected``; return every mismatch (empty list: they agree).

    Args:
        expected: decoded expected value (``Array``, tuple, list, dict, None, scalar).
        got: decoded student value.
        tol: tolerance for floating leaves; integer and bool leaves must match exactly.
        path: name of the root in messages.
        check_dtype: require the student's dtype to equal the expected dtype.
        check_device: the device type every tensor must be on (``"cuda"``), or None.
    """
    out: list[Mismatch] = []
    _cmp(expected, got, tol, path, check_dtype, check_device, out)
    return out


def matches(expected, got, *, tol: Tolerance) -> bool:
    """True when ``got`` has ``expected``'s structure and shapes and its values agree
    within ``tol`` (NaN matching NaN), ignoring dtype and device."""
    return not compare(expected, got, tol=tol, check_dtype=False, check_device=None)


def _cmp(e, g, tol, path, check_dtype, check_device, out) -> None:
    if isinstance(e, Array):
        if not isinstance(g, Array) or g.kind != "tensor":
            hint = ""
            if isinstance(g, (float, int)) and not isinstance(g, bool) and e.shape == ():
                hint = " Return a 0-d tensor (for example keep the result of .sum() or .mean()) instead of a Python number."
            elif isinstance(g, Array):
                hint = " Return a torch.Tensor: do not convert to numpy."
            out.append(Mismatch(path, "structure",
                                f"{path}: expected a tensor {e.dtype} {_shape(e.shape)}, got {describe_value(g)}.{hint}"))
            return
        _cmp_array(e, g, tol, path, check_dtype, check_device, out)
        return
    if e is None:
        if g is not None:
            out.append(Mismatch(path, "structure", f"{path}: expected None, got {describe_value(g)}."))
        return
    if isinstance(e, (tuple, list)):
        word = _seq_word(e)
        if not isinstance(g, (tuple, list)):
            out.append(Mismatch(path, "structure",
                                f"{path}: expected a {word} of {len(e)} values, got {describe_value(g)}."))
            return
        if e and _all_str(e) and _all_str(g):
            _cmp_strings(e, g, path, out)
            return
        if len(g) != len(e):
            out.append(Mismatch(path, "structure",
                                f"{path}: expected a {word} of {len(e)} values, got {describe_value(g)}."))
            return
        for i, (ei, gi) in enumerate(zip(e, g)):
            _cmp(ei, gi, tol, f"{path}[{i}]", check_dtype, check_device, out)
        return
    if isinstance(e, dict):
        if not isinstance(g, dict):
            out.append(Mismatch(path, "structure",
                                f"{path}: expected a dict with keys {sorted(map(str, e))}, got {describe_value(g)}."))
            return
        missing = [k for k in e if k not in g]
        extra = [k for k in g if k not in e]
        if missing or extra:
            cls = class_name(g)
            msg = f"{path}: expected keys {sorted(map(str, e))}" + (f" (your {cls} has {sorted(map(str, g))})"
                                                                     if cls else "")
            if missing:
                msg += f"; missing {sorted(map(str, missing))}"
            if extra:
                msg += f"; unexpected {sorted(map(str, extra))}"
            out.append(Mismatch(path, "structure", msg + "."))
        for k in e:
            if k in g:
                _cmp(e[k], g[k], tol, f"{path}[{k!r}]", check_dtype, check_device, out)
        return
    # Python scalars: compare as 0-d values.
    if isinstance(e, (bool, int, float, str)):
        if type(g) is not type(e) and not (isinstance(e, float) and isinstance(g, int) and not isinstance(g, bool)):
            out.append(Mismatch(path, "structure", f"{path}: expected {describe_value(e)}, got {describe_value(g)}."))
            return
        if isinstance(e, float):
            _cmp_array(Array(np.asarray(e, np.float64), "float64"), Array(np.asarray(float(g), np.float64), "float64"),
                       tol, path, False, None, out)
        elif e != g:
            out.append(Mismatch(path, "values", f"{path}: expected {e!r}, got {g!r}."))
        return
    out.append(Mismatch(path, "structure", f"{path}: cannot compare with expected {describe_value(e)}."))


def _cmp_strings(e, g, path: str, out: list) -> None:
    """Lists of strings (a vocabulary, a token list): the first differing position, then what is
    missing and what is unexpected, in one mismatch."""
    e, g = list(e), list(g)
    if e == g:
        return
    word = _seq_word(e)
    first = next((i for i, (a, b) in enumerate(zip(e, g)) if a != b), None)
    from collections import Counter

    ce, cg = Counter(e), Counter(g)
    missing = sorted((ce - cg).elements())
    extra = sorted((cg - ce).elements())
    found = []
    if missing:
        found.append(f"missing {_quote_list(missing)}")
    if extra:
        found.append(f"unexpected {_quote_list(extra)}")
    position = ""
    if first is not None:
        k = sum(a != b for a, b in zip(e, g))
        more = (f" ({k - 1} more position{'s differ' if k > 2 else ' differs'})" if k > 1 else "")
        position = f"{path}[{first}]: expected {e[first]!r}, got {g[first]!r}{more}"
    if len(e) != len(g):
        head = f"{path}: expected a {word} of {len(e)} strings, got {len(g)}"
        parts = [head, *found] + ([f"first difference at {position}"] if position else [])
    else:
        parts = [position, *found]
        if not missing and not extra:
            parts.append("the same strings in a different order"
                         + (" (the expected order is sorted)" if e == sorted(e) else ""))
    message = "; ".join(parts) + "."
    idx = (first,) if first is not None else ()
    out.append(Mismatch(path, "values" if len(e) == len(g) else "structure", message,
                        expected_excerpt=repr(e[max(0, (first or 0) - 2):(first or 0) + 3])[:300],
                        got_excerpt=repr(g[max(0, (first or 0) - 2):(first or 0) + 3])[:300],
                        n_differ=max(len(missing), len(extra), 1), n_total=len(e), max_abs_index=idx,
                        max_rel_index=idx))


def row_scale(ev: np.ndarray) -> np.ndarray:
    """The scale each element of ``ev`` (float64) is judged against: ``max(|e|, largest finite |e|
    of its row)``, rows along the last axis (the whole array when 1-D; ``|e|`` itself when 0-d)."""
    a = np.where(np.isfinite(ev), np.abs(ev), 0.0)
    if a.ndim == 0 or a.size == 0:
        return a
    return np.maximum(a, a.max(axis=-1, keepdims=True))


def _plain(x) -> str:
    """A numpy scalar as a student writes it: ``3``, ``True`` (not ``np.int64(3)``)."""
    return repr(x.item()) if hasattr(x, "item") else repr(x)


def _excerpt(a: np.ndarray, index: tuple[int, ...], width: int = 6) -> str:
    """Values of ``a`` along the last axis around ``index`` (the whole array if small)."""
    if a.ndim == 0:
        return np.array2string(a, precision=6)
    if a.size <= width:
        return np.array2string(a.reshape(-1), precision=6, separator=", ")
    row = a[index[:-1]] if a.ndim > 1 else a
    j = index[-1]
    lo = max(0, min(j - width // 2, row.shape[0] - width))
    seg = row[lo:lo + width]
    prefix = _idx(index[:-1])[:-1] + (", " if a.ndim > 1 else "") + f"{lo}:{lo + len(seg)}]"
    return f"{prefix} = " + np.array2string(seg, precision=6, separator=", ")


def _cmp_array(e: Array, g: Array, tol: Tolerance, path, check_dtype, check_device, out) -> None:
    if g.shape != e.shape:
        hint = ""
        if len(g.shape) == len(e.shape) == 2 and g.shape == e.shape[::-1]:
            hint = " It looks transposed."
        elif e.shape == () and g.shape == (1,):
            hint = " Return a 0-d tensor (use .squeeze() or index [0])."
        elif len(g.shape) == len(e.shape) + 1 and g.shape[-1] == 1 and g.shape[:-1] == e.shape:
            hint = " Did you keep a dimension (keepdim=True) that should be reduced?"
        elif len(g.shape) + 1 == len(e.shape) and e.shape[-1] == 1:
            hint = " A dimension of size 1 is missing (keepdim=True?)."
        out.append(Mismatch(path, "shape", f"{path}: expected shape {_shape(e.shape)}, got {_shape(g.shape)}.{hint}"))
        return
    if check_dtype and g.dtype != e.dtype:
        out.append(Mismatch(path, "dtype",
                            f"{path}: expected dtype {e.dtype}, got {g.dtype}. Keep the input's dtype "
                            "(avoid Python floats/np.float64 constants that promote, and torch.tensor(...) "
                            "without dtype=)." if e.dtype.startswith("float") else
                            f"{path}: expected dtype {e.dtype}, got {g.dtype}."))
    if check_device is not None and g.device != check_device:
        out.append(Mismatch(path, "device", f"{path}: expected the tensor on {check_device} (the input's device), "
                                            f"got it on {g.device}. Create new tensors with device=x.device."))
    ed, gd = e.data, g.data
    n = int(ed.size)
    if n == 0:
        return
    if ed.dtype.kind in "biu" and gd.dtype.kind in "biu":
        diff = ed.astype(np.int64) != gd.astype(np.int64)
        k = int(diff.sum())
        if k:
            idx = tuple(int(i) for i in np.argwhere(diff)[0])
            out.append(Mismatch(path, "values",
                                f"{path}: {k} of {n} elements differ ({100.0 * k / n:.3g}%); first at "
                                f"{_idx(idx)}: expected {_plain(ed[idx])}, got {_plain(gd[idx])} (integers must match exactly).",
                                expected_excerpt=_excerpt(ed, idx), got_excerpt=_excerpt(gd, idx),
                                n_differ=k, n_total=n, max_abs_index=idx, max_rel_index=idx))
        return
    if gd.dtype.kind == "c" or ed.dtype.kind == "c":
        out.append(Mismatch(path, "dtype", f"{path}: complex values are not expected here."))
        return
    ev = ed.astype(np.float64)
    gv = gd.astype(np.float64)
    e_nan, g_nan = np.isnan(ev), np.isnan(gv)
    e_fin, g_fin = np.isfinite(ev), np.isfinite(gv)
    # Non-finite where a finite value was expected.
    bad_nf = e_fin & ~g_fin
    if bad_nf.any():
        k = int(bad_nf.sum())
        idx = tuple(int(i) for i in np.argwhere(bad_nf)[0])
        what = "NaN" if np.isnan(gv[idx]) else ("inf" if gv[idx] > 0 else "-inf")
        out.append(Mismatch(path, "nonfinite",
                            f"{path}: {k} of {n} elements are NaN or Inf where finite values were expected; "
                            f"first at {_idx(idx)}: expected {ev[idx]:.6g}, got {what}.",
                            expected_excerpt=_excerpt(ev, idx), got_excerpt=_excerpt(gv, idx),
                            n_differ=k, n_total=n, max_abs=float("inf"), max_abs_index=idx,
                            max_rel=float("inf"), max_rel_index=idx))
        return
    both_fin = e_fin & g_fin
    ok_special = (e_nan & g_nan) | (~e_fin & ~e_nan & (ev == gv))
    # Differences only where both are finite (no overflow warnings, no errstate context).
    absd = np.full(ev.shape, np.inf)
    np.subtract(gv, ev, out=absd, where=both_fin)
    np.abs(absd, out=absd)
    absd[ok_special] = 0.0
    allowed = tol.atol + tol.rtol * row_scale(ev)
    bad = absd > allowed
    k = int(bad.sum())
    if not k:
        return
    finite_abs = np.where(np.isfinite(absd), absd, -1.0)
    ia = tuple(int(i) for i in np.unravel_index(int(np.argmax(np.where(bad, np.where(np.isfinite(absd), absd, np.inf), -1.0))), ev.shape))
    denom = np.abs(ev)
    rel = np.full(ev.shape, -1.0)
    with np.errstate(over="ignore"):  # an error over a subnormal expected value: relative error inf
        np.divide(absd, denom, out=rel, where=bad & (denom > 0) & np.isfinite(absd))
    rel[bad & ((denom == 0) | ~np.isfinite(absd))] = np.inf
    ir = tuple(int(i) for i in np.unravel_index(int(np.argmax(rel)), ev.shape))
    max_abs = float(absd[ia]) if ev.ndim else float(absd)
    max_rel = float(rel[ir]) if ev.ndim else float(rel)
    del finite_abs

    def fmt(x: float) -> str:
        return f"{x:.6g}"

    if ev.ndim == 0:
        msg = (f"{path}: expected {fmt(float(ev))}, got {fmt(float(gv))} "
               f"(absolute error {fmt(max_abs)}, relative error {fmt(max_rel)}; "
               f"allowed {tol.describe()} for {e.dtype}).")
    else:
        msg = (f"{path}: {k} of {n} elements differ ({100.0 * k / n:.3g}%). "
               f"Worst absolute error {fmt(max_abs)} at {_idx(ia)} (expected {fmt(ev[ia])}, got {fmt(gv[ia])}); "
               f"worst relative error {fmt(max_rel)} at {_idx(ir)}. "
               f"Allowed: |got - expected| <= atol + rtol * max(|expected|, largest |expected| in its row) "
               f"with {tol.describe()} ({e.dtype}).")
    out.append(Mismatch(path, "values", msg, expected_excerpt=_excerpt(ev, ia), got_excerpt=_excerpt(gv, ia),
                        n_differ=k, n_total=n, max_abs=max_abs, max_abs_index=ia, max_rel=max_rel,
                        max_rel_index=ir))


def scale_note(expected, got, *, tol: Tolerance, path: str = "output") -> str | None:
    """Explain a pass that needed leniency: None unless some float64 element of ``got`` differs from
    ``expected`` by more than the plain relative rule allows (``rtol * |expected|``) *and* by more
    than rounding explains (more than ``1e-3 * rtol`` times its scale, :func:`row_scale`; more than
    ``1000 * eps`` times the tensor's largest |expected|; more than ``1e-3 * atol``), while still
    within tolerance.

    The typical cause is a stabilising epsilon (``exp / (sum + 1e-8)``, ``log(p + 1e-12)``): correct
    enough, and accepted, but visible where the expected value is (near) 0.  Only float64 is
    examined: in float32 and float16 rounding alone reaches such differences.  Call it on outputs
    that passed :func:`compare` (elements outside tolerance are ignored here).

    Returns:
        One sentence for the report, naming the worst such element, or None.
    """
    found: list[tuple[float, str, tuple[int, ...], float, float]] = []
    _scale_walk(expected, got, tol, path, found)
    if not found:
        return None
    d, where, idx, ev, gv = max(found, key=lambda t: t[0])
    at = f"{where}{_idx(idx) if idx else ''}"
    return (f"within tolerance; your values differ by up to {d:.1g} where the expected value is close to 0 "
            f"({at}: expected {ev:.3g}, got {gv:.3g}), more than rounding explains — an epsilon in a "
            "denominator or inside a log? Accepted: the difference is tiny next to the output's values.")


def _scale_walk(e, g, tol: Tolerance, path: str, found: list) -> None:
    if isinstance(e, Array):
        if isinstance(g, Array) and g.shape == e.shape:
            _scale_leaf(e.data, g.data, tol, path, found)
        return
    if isinstance(e, (tuple, list)) and isinstance(g, (tuple, list)) and len(e) == len(g):
        for i, (ei, gi) in enumerate(zip(e, g)):
            _scale_walk(ei, gi, tol, f"{path}[{i}]", found)
        return
    if isinstance(e, dict) and isinstance(g, dict):
        for k in e:
            if k in g:
                _scale_walk(e[k], g[k], tol, f"{path}[{k!r}]", found)
        return
    if isinstance(e, float) and isinstance(g, (float, int)) and not isinstance(g, bool):
        _scale_leaf(np.asarray(e, np.float64), np.asarray(float(g), np.float64), tol, path, found)


def _scale_leaf(ed: np.ndarray, gd: np.ndarray, tol: Tolerance, path: str, found: list) -> None:
    if ed.dtype != np.float64 or gd.dtype.kind not in "fiub" or ed.size == 0:
        return
    eps = float(np.finfo(np.float64).eps)
    ev, gv = ed.astype(np.float64), gd.astype(np.float64)
    fin = np.isfinite(ev) & np.isfinite(gv)
    d = np.zeros(ev.shape)
    np.subtract(gv, ev, out=d, where=fin)
    d = np.abs(d)
    scale = row_scale(ev)
    whole = float(scale.max()) if scale.size else 0.0
    noise = np.maximum(1e-3 * tol.rtol * scale, 1000.0 * eps * whole)
    flagged = (fin & (d > tol.rtol * np.abs(np.where(fin, ev, 0.0))) & (d > noise) & (d > 1e-3 * tol.atol)
               & (d <= tol.atol + tol.rtol * scale))
    if not flagged.any():
        return
    flat = int(np.argmax(np.where(flagged, d, -1.0)))
    idx = tuple(int(i) for i in np.unravel_index(flat, ev.shape)) if ev.ndim else ()
    found.append((float(d[idx] if ev.ndim else d), path, idx, float(ev[idx] if ev.ndim else ev),
                  float(gv[idx] if ev.ndim else gv)))
