"""``grade list``: the assignments, their functions and points (light: no torch for the table)."""

from __future__ import annotations

import click

from grader.cli.options import reference_option

__all__ = ["list_cmd"]


@click.command("list")
@reference_option
def list_cmd(reference):
    """List the assignments, their functions and points."""
    from rich.console import Console
    from rich.table import Table

    from grader.api import list_assignments

    items = list_assignments(reference_dir=reference)
    table = Table(box=None, header_style="bold", pad_edge=False)
    for col in ("assignment", "function", "cases", "points"):
        table.add_column(col, justify="right" if col in ("cases", "points") else "left")
    for a in items:
        for i, f in enumerate(a["functions"]):
            cases = f"{f['cases']}" + (f" ({f['hidden_cases']} hidden)" if f["hidden_cases"] else "")
            table.add_row(a["id"] if i == 0 else "", f["name"], cases, f"{f['max_score']:g}")
        table.add_row("", "[bold]total[/]", "", f"[bold]{a['max_score']:g}[/]", end_section=True)
    Console(highlight=False).print(table)
