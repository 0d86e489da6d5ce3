"""The ``grade`` command: a thin Click layer over :mod:`grader.api`.

Exit codes: 0 every case passed; 1 some case did not pass; 2 usage or spec
error (bad option, unknown assignment, unreadable submission, broken spec).
Bare ``grade`` (or ``grade PATH``) behaves like ``grade check``.
"""

from __future__ import annotations

import os
import sys

import click

from grader import __version__

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class _DefaultGroup(click.Group):
    """A group whose unknown first word is taken as ``check``'s PATH."""

    def parse_args(self, ctx, args):
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h", "--version")):
            args = ["check", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="grade")
def main() -> None:
    """Grade hand-written deep-learning implementations against reference solutions."""


def _worker_first(reference):
    # Start the worker before any reference code is imported, so it can be
    # forked from this process (milliseconds) instead of spawned (an import).
    from grader.api import get_worker

    return get_worker(reference_dir=reference)


@main.command("check")
@click.argument("path", required=False, default="assignments", type=click.Path(path_type=str))
@click.option("-a", "--assignment", "assignments", multiple=True, metavar="ID",
              help="Grade only this assignment (repeatable).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="Devices to run on: auto = CPU plus CUDA when present.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=str), help="Write the JSON result here.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=str),
              help="Write the HTML report here (default: reports/<name>-<time>.html).")
@click.option("--no-html", is_flag=True, help="Do not write an HTML report.")
@click.option("--reference", type=click.Path(file_okay=False, path_type=str), envvar="GRADE_REFERENCE",
              help="Folder with the references and specs/ (default: ./reference).")
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False, path_type=str),
              help="Write JUnit XML here (one testcase per case and device).")
@click.option("--summary", "summary_path", type=click.Path(dir_okay=False, path_type=str),
              help="Write a Markdown summary here (also appended to $GITHUB_STEP_SUMMARY when set).")
@click.option("--min-score", type=float, default=None, metavar="X",
              help="Exit 1 when the total score is below X (then passing below 100% is fine).")
@click.option("-v", "--verbose", is_flag=True, help="Show every failing case in full.")
@click.option("--time-scale", type=float, default=1.0, show_default=True, help="Multiply every time limit.")
def check_cmd(path, assignments, device, json_path, html_path, no_html, reference, junit_path, summary_path,
              min_score, verbose, time_scale):
    """Grade PATH: a folder of <assignment>.py modules (default ./assignments), one .py, or a .ipynb."""
    from rich.console import Console

    _worker_first(reference)
    from grader.api import check, default_html_path
    from grader.judge.engine import Options
    from grader.submission.load import SubmissionError
    from grader.report import print_result
    from grader.spec import SpecError

    console = Console(highlight=False)
    err = Console(stderr=True, highlight=False)
    try:
        result = check(path, assignments=tuple(assignments), device=device, json_path=json_path,
                       reference_dir=reference, options=Options(time_scale=time_scale))
    except (SpecError, SubmissionError, ValueError) as e:
        err.print(f"[red]error:[/] {e}")
        sys.exit(EXIT_USAGE)
    notice = kit_notice(result)
    print_result(result, console=console, verbose=verbose, hidden_note=notice)
    if not no_html:
        from grader.report import write_html

        out = write_html(result, html_path or default_html_path(path), notice=notice)
        console.print(f"HTML report: {out}")
    if json_path:
        console.print(f"JSON result: {json_path}")
    if junit_path:
        from grader.report.junit import write_junit

        write_junit(result, junit_path)
        console.print(f"JUnit XML: {junit_path}")
    summary_targets = [p for p in (summary_path, os.environ.get("GITHUB_STEP_SUMMARY")) if p]
    if summary_targets:
        from grader.report.summary import write_summary

        for target in summary_targets:
            write_summary(result, target, min_score=min_score, notice=notice, append=target != summary_path)
    sys.exit(exit_code(result, min_score=min_score))


def exit_code(result, *, min_score: float | None = None) -> int:
    """0 when the run passes, else 1: with ``min_score``, passing means score >= min_score;
    without it, every case must pass."""
    if min_score is not None:
        return EXIT_OK if result.score + 1e-9 >= min_score else EXIT_FAILED
    return EXIT_OK if result.passed else EXIT_FAILED


def kit_notice(result) -> str | None:
    """The student kit's reminder that hidden cases are graded later, or None in the full project."""
    kit = getattr(result, "kit", None)
    if not kit:
        return None
    hidden = kit.get("hidden_cases", 0)
    return (f"Student kit {kit.get('version', '')}: this score covers the visible cases only. "
            f"{hidden} hidden case(s) are graded by your instructor; this is not your final grade.")


@main.command("list")
@click.option("--reference", type=click.Path(file_okay=False, path_type=str), envvar="GRADE_REFERENCE",
              help="Folder with the references and specs/.")
def list_cmd(reference):
    """List the assignments, their functions and points."""
    from rich.console import Console
    from rich.table import Table

    from grader.api import list_assignments
    from grader.spec import SpecError

    try:
        items = list_assignments(reference_dir=reference)
    except SpecError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(EXIT_USAGE)
    table = Table(box=None, header_style="bold", pad_edge=False)
    for col in ("assignment", "function", "cases", "points"):
        table.add_column(col, justify="right" if col in ("cases", "points") else "left")
    for a in items:
        for i, f in enumerate(a["functions"]):
            cases = f"{f['cases']}" + (f" ({f['hidden_cases']} hidden)" if f["hidden_cases"] else "")
            table.add_row(a["id"] if i == 0 else "", f["name"], cases, f"{f['max_score']:g}")
        table.add_row("", "[bold]total[/]", "", f"[bold]{a['max_score']:g}[/]", end_section=True)
    Console(highlight=False).print(table)


def _register_extra_commands() -> None:
    """Commands that live in their own modules (kept light: heavy imports happen inside them)."""
    import importlib

    for name in ("grader.cli.batch", "grader.cli.release"):
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        for cmd in getattr(mod, "COMMANDS", ()):
            main.add_command(cmd)


_register_extra_commands()


def run() -> None:
    """Console-script entry point: ``main`` then a fast exit.

    After the reports are written and flushed, the process ends with
    ``os._exit`` instead of tearing down torch's modules one by one (which
    takes about half a second and changes nothing on disk).
    """
    import os

    try:
        main(standalone_mode=True)
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if not isinstance(e.code, (int, type(None))):
            print(e.code, file=sys.stderr)
    except KeyboardInterrupt:
        code = 130
    try:
        from grader.api import close_worker

        close_worker()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
