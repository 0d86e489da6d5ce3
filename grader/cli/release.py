"""``grade release``: build the student kit (a thin Click layer over :func:`grader.kit.release.build_kit`).

Light to import: the work happens in :mod:`grader.kit.release`, imported inside the command.
"""

from __future__ import annotations

import click

__all__ = ["COMMANDS", "release_cmd"]


@click.command("release")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=str),
              help="Folder of the kit: new, empty, or a kit built before (its files are replaced; .git is kept).")
@click.option("-a", "--assignment", "assignments", multiple=True, metavar="ID",
              help="Ship only this assignment (repeatable; default: all).")
@click.option("--reference", type=click.Path(file_okay=False, path_type=str), envvar="GRADE_REFERENCE",
              help="Folder with the references and specs/ (default: ./reference).")
@click.option("--stubs", type=click.Path(file_okay=False, path_type=str),
              help="Folder with the stubs <id>.py (default: assignments/ beside the references).")
@click.option("--owner", "owners", multiple=True, metavar="@USER_OR_TEAM",
              help="Write .github/CODEOWNERS making them owners of the grading files (repeatable).")
@click.option("--force", is_flag=True, help="Write into a non-empty folder that holds no kit.")
def release_cmd(out, assignments, reference, stubs, owners, force):
    """Build the student kit in OUT: stubs, visible cases as data, the grader, README and workflow.

    The kit holds no reference code, no spec and no hidden case; running `grade`
    in it grades the visible cases and says that hidden cases are graded by the
    instructor. Exit 2 if the kit cannot be built.
    """
    from grader.kit.release import build_kit

    rel = build_kit(out, reference_dir=reference, assignments=tuple(assignments), stubs_dir=stubs,
                    owners=tuple(owners), force=force)
    click.echo(f"kit {rel.version} written to {rel.out}")
    for aid, ver in rel.assignments.items():
        click.echo(f"  {aid:<16} version {ver}")
    click.echo(f"  {rel.visible_cases} visible cases shipped ({rel.data_bytes / 1024:.0f} KiB of data); "
               f"{rel.hidden_cases} hidden cases left out; {len(rel.files)} files.")


COMMANDS = [release_cmd]
