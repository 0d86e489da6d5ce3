"""``grade check``: grade a submission and report (a thin layer over :func:`grader.api.check`)."""

from __future__ import annotations

import os
import sys

import click

from grader.cli.options import assignments_option, device_option, reference_option, time_scale_option

__all__ = ["check_cmd"]


@click.command("check")
@click.argument("path", required=False, default="assignments", type=click.Path(path_type=str))
@assignments_option("Grade only this assignment (repeatable).")
@device_option
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=str), help="Write the JSON result here.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=str),
              help="Write the HTML report here (default: reports/<name>-<time>.html).")
@click.option("--no-html", is_flag=True, help="Do not write an HTML report.")
@reference_option
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False, path_type=str),
              help="Write JUnit XML here (one testcase per case and device).")
@click.option("--summary", "summary_path", type=click.Path(dir_okay=False, path_type=str),
              help="Write a Markdown summary here (also appended to $GITHUB_STEP_SUMMARY when set).")
@click.option("--min-score", type=float, default=None, metavar="X",
              help="Exit 1 when the total score is below X (then passing below 100% is fine).")
@click.option("-v", "--verbose", is_flag=True, help="Show every failing case in full.")
@time_scale_option
def check_cmd(path, assignments, device, json_path, html_path, no_html, reference, junit_path, summary_path,
              min_score, verbose, time_scale):
    """Grade PATH: a folder of <assignment>.py modules (default ./assignments), one .py, or a .ipynb."""
    from grader.api import get_worker

    # Start the worker before any reference code is imported, so it can be forked from this
    # process (milliseconds) instead of spawned (an import).
    get_worker(reference_dir=reference)
    from rich.console import Console

    from grader.api import check, default_html_path
    from grader.cli import exit_code
    from grader.judge.engine import Options
    from grader.report import print_result
    from grader.report.format import kit_notice

    console = Console(highlight=False)
    result = check(path, assignments=tuple(assignments), device=device, json_path=json_path,
                   reference_dir=reference, options=Options(time_scale=time_scale))
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
