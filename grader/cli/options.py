"""Options shared by several commands (one definition each, as otter-grader does)."""

from __future__ import annotations

import click

__all__ = ["reference_option", "assignments_option", "device_option", "time_scale_option"]

reference_option = click.option(
    "--reference", type=click.Path(file_okay=False, path_type=str), envvar="GRADE_REFERENCE",
    help="Folder with the references and specs/ (default: ./reference, or $GRADE_REFERENCE).")


def assignments_option(help: str = "Only this assignment (repeatable; default: all)."):
    return click.option("-a", "--assignment", "assignments", multiple=True, metavar="ID", help=help)


device_option = click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
    help="Devices to run on: auto = CPU plus CUDA when present.")

time_scale_option = click.option(
    "--time-scale", type=float, default=1.0, show_default=True, help="Multiply every time limit (slow machines).")
