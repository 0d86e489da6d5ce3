"""``grade lint-spec``: check assignment specs against their stubs and references (:func:`grader.api.lint_spec`)."""

from __future__ import annotations

import sys

import click

from grader.cli.options import assignments_option, reference_option

__all__ = ["lint_cmd"]


@click.command("lint-spec")
@assignments_option("Lint only this assignment (repeatable; default: all).")
@reference_option
@click.option("--stubs", type=click.Path(file_okay=False, path_type=str),
              help="Folder with the stubs <id>.py (default: assignments/ beside the references).")
@click.option("--oracles", is_flag=True, help="Also check each reference against its library oracle "
                                               "(needs the test dependencies: nltk, scikit-learn).")
def lint_cmd(assignments, reference, stubs, oracles):
    """Check each spec: signatures match stub and reference, every function has cases and tolerances, the
    stub names the banned calls, every known mistake differs from the reference, the reference obeys its
    banned list, properties and gradient checks hold for the reference. Exit 1 when a problem is found."""
    from grader.api import lint_spec

    problems = lint_spec(reference_dir=reference, assignments=tuple(assignments), stubs_dir=stubs, oracles=oracles)
    for p in problems:
        click.echo(str(p))
    n = len(problems)
    click.echo(f"{n} problem{'s' if n != 1 else ''} found." if n else "No problems found.")
    sys.exit(1 if problems else 0)
