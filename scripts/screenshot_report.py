#!/usr/bin/env python
"""Render an HTML report and take a headless-Chromium screenshot of it.

Usage::

    python scripts/screenshot_report.py                       # a buggy activations submission
    python scripts/screenshot_report.py assignments -a activations --png /tmp/stubs.png
    python scripts/screenshot_report.py --from-json result.json --png /tmp/r.png

Needs Debian's ``chromium`` (``apt-get install -y chromium``).  The browser
runs with a fresh profile, no network features, and no sandbox (root in a
container); it only reads the local report file.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SUBMISSION = ROOT / "tests" / "submissions" / "buggy" / "activations" / "softmax_no_max_shift.py"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

__all__ = ["find_chromium", "screenshot", "render_report", "main"]


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome executable (``$CHROMIUM`` first), or None."""
    env = os.environ.get("CHROMIUM")
    if env and Path(env).is_file():
        return env
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def screenshot(html_path: str | os.PathLike, png_path: str | os.PathLike, *, width: int = 1280, height: int = 2000,
               chromium: str | None = None, timeout: float = 90.0) -> Path:
    """Screenshot ``html_path`` (a local file) into ``png_path`` with headless Chromium.

    Args:
        width, height: window size in CSS pixels (the PNG's size).
        chromium: the browser executable (default: :func:`find_chromium`).
        timeout: seconds before the browser is killed.

    Returns:
        ``png_path``.

    Raises:
        FileNotFoundError: no Chromium was found.
        RuntimeError: the browser failed or wrote no PNG (its output is in the message).
    """
    exe = chromium or find_chromium()
    if exe is None:
        raise FileNotFoundError("no Chromium found: install it with `apt-get install -y chromium` "
                                "or set $CHROMIUM to the browser executable")
    html = Path(html_path).resolve()
    png = Path(png_path).resolve()
    png.parent.mkdir(parents=True, exist_ok=True)
    if png.exists():
        png.unlink()
    with tempfile.TemporaryDirectory(prefix="grade-chromium-") as profile:
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-dev-shm-usage", "--hide-scrollbars", f"--user-data-dir={profile}",
               f"--screenshot={png}", f"--window-size={width},{height}", html.as_uri()]
        try:
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout,
                                  env={**os.environ, "HOME": profile})
        except subprocess.TimeoutExpired as e:
            raise RuntimeError(f"chromium did not finish within {timeout:g} s") from e
    if not png.is_file() or png.stat().st_size == 0:
        raise RuntimeError(f"chromium wrote no screenshot (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
    return png


def render_report(*, submission: str | os.PathLike = DEFAULT_SUBMISSION, assignments: tuple[str, ...] = ("activations",),
                  html_path: str | os.PathLike, from_json: str | os.PathLike | None = None) -> Path:
    """Grade ``submission`` (or load a ``--json`` result) and write its HTML report to ``html_path``."""
    sys.path.insert(0, str(ROOT))
    from grader.report import write_html
    from grader.results import GradeResult

    if from_json:
        import json

        result = GradeResult.from_dict(json.loads(Path(from_json).read_text(encoding="utf-8")))
    else:
        from grader.api import check, get_worker

        worker = get_worker(reference_dir=ROOT / "reference")
        result = check(submission, assignments=tuple(assignments), device="cpu", worker=worker,
                       reference_dir=ROOT / "reference")
    return write_html(result, html_path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("submission", nargs="?", default=str(DEFAULT_SUBMISSION),
                   help="what to grade (default: a buggy activations submission)")
    p.add_argument("-a", "--assignment", action="append", dest="assignments",
                   help="assignment id (repeatable; default: activations)")
    p.add_argument("--from-json", help="render this --json result instead of grading")
    p.add_argument("--html", default=str(ROOT / "reports" / "screenshot.html"), help="where to write the report")
    p.add_argument("--png", default=str(ROOT / "reports" / "screenshot.png"), help="where to write the screenshot")
    p.add_argument("--width", type=int, default=1280)
    p.add_argument("--height", type=int, default=2000)
    args = p.parse_args(argv)
    html = render_report(submission=args.submission, assignments=tuple(args.assignments or ("activations",)),
                         html_path=args.html, from_json=args.from_json)
    try:
        png = screenshot(html, args.png, width=args.width, height=args.height)
    except (FileNotFoundError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"HTML report: {html}\nscreenshot: {png} ({png.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    try:
        code = main()
    finally:
        try:
            from grader.api import close_worker

            close_worker()
        except Exception:
            pass
    sys.exit(code)
