"""``grade batch``: grade a whole class (a thin Click layer over :func:`grader.api.batch`).

The command turns its options into keywords, shows progress, and prints the summary.  Errors
are :class:`grader.errors.GradeError` exceptions raised by the API (:class:`grader.errors.BatchError`
for a batch that cannot run), turned into a message and an exit code by the CLI group. Light to import:
everything heavy is imported inside the command.
"""

from __future__ import annotations

import sys

import click

__all__ = ["COMMANDS", "batch_cmd"]

from grader.errors import EXIT_INTERRUPTED, EXIT_OK


def _progress_bar(console):
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task):
            speed = task.finished_speed or task.speed
            return Text(f"{speed:.2f}/s" if speed else "-/s", style="progress.data.speed")

    return Progress(TextColumn("[bold]grading[/]"), BarColumn(), MofNCompleteColumn(), RateColumn(),
                    TextColumn("elapsed"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                    TextColumn("{task.fields[last]}", style="dim"), console=console,
                    disable=not console.is_terminal, transient=False)


@click.command("batch")
@click.argument("submissions", type=click.Path(exists=True, path_type=str))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=str),
              help="Output folder: per-student reports, gradebook.csv, class_report.html (and the cache).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: the number of CPU cores).")
@click.option("-a", "--assignment", "assignments", multiple=True, metavar="ID",
              help="Grade only this assignment (repeatable; default: all).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="Devices to run on: auto = CPU plus CUDA when present.")
@click.option("--force", is_flag=True, help="Regrade every entry, ignoring cached results.")
@click.option("--scheduler", metavar="ADDRESS", default=None,
              help="Run the tasks on a Dask distributed cluster (e.g. tcp://host:8786) instead of local workers.")
@click.option("--reference", type=click.Path(file_okay=False, path_type=str), envvar="GRADE_REFERENCE",
              help="Folder with the references and specs/ (default: ./reference).")
@click.option("--time-scale", type=float, default=1.0, show_default=True, help="Multiply every time limit.")
def batch_cmd(submissions, out_dir, jobs, assignments, device, force, scheduler, reference, time_scale):
    """Grade every submission in SUBMISSIONS (a folder, or an LMS export .zip) into --out DIR.

    An entry is a folder of <assignment>.py modules, one .py, one .ipynb, or a .zip of those;
    Canvas, Moodle and Gradescope exports are recognised and student ids taken from their names.
    A rerun grades only what changed (use --force to regrade all). Entries that cannot be read
    get a row with status "error" and the reason; the batch always goes on.

    Exit codes: 0 the batch ran (whatever the students' scores); 2 usage error (unknown
    assignment, unreadable SUBMISSIONS, broken specs, unreachable scheduler); 130 interrupted.
    """
    from rich.console import Console
    from rich.markup import escape

    from grader.api import batch
    from grader.batch.executors import default_jobs

    console = Console(highlight=False)
    err = Console(stderr=True, highlight=False)
    bar = _progress_bar(console)
    state = {"task": None}

    def on_start(disc, cached, to_grade):
        n = min(jobs or default_jobs(), max(1, to_grade))
        where = f"the Dask scheduler at {scheduler}" if scheduler else f"{n} local worker(s)"
        console.print(f"{len(disc.entries)} entries in {escape(str(submissions))} ({disc.source}); "
                      f"{cached} up to date, {to_grade} to grade on {where}.")
        for id_, names in disc.duplicates:
            err.print(f"[yellow]duplicate id[/] {escape(id_)}: {escape(', '.join(names))} "
                      "(the others get __2, __3...; keep one per student)")
        state["task"] = bar.add_task("grading", total=len(disc.entries), completed=len(disc.entries) - to_grade,
                                     last="")

    def progress(done, total, last):
        if state["task"] is not None:
            bar.update(state["task"], completed=done, last=last)

    try:
        with bar:
            summary = batch(submissions, out_dir=out_dir, assignments=tuple(assignments), device=device, jobs=jobs,
                            force=force, scheduler=scheduler, reference_dir=reference, time_scale=time_scale,
                            progress=progress, on_start=on_start)
    except KeyboardInterrupt:
        err.print("[yellow]interrupted:[/] the results written so far are kept; rerun the same command to resume.")
        sys.exit(EXIT_INTERRUPTED)
    rows = summary.rows
    passed = sum(r.status == "passed" for r in rows)
    console.print(f"{len(rows)} entries: {summary.graded} graded now, {summary.cached} from the cache, "
                  f"{passed} passed every case, {summary.errors} could not be graded · {summary.seconds:.1f} s")
    for r in rows:
        if r.status == "error":
            console.print(f"  [red]error[/] {escape(r.id)}: {escape(r.reason)}")
    console.print(f"Gradebook: {summary.gradebook}")
    console.print(f"Class report: {summary.class_report}")
    sys.exit(EXIT_OK)


COMMANDS = [batch_cmd]
