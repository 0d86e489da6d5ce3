"""Terminal report: a score table per assignment, then what failed and why.

Rendered with rich; plain text when the output is not a terminal (CI logs).
For each function that lost points, the first failing case is shown in full
(message, expected vs got, diagnosis); further failing cases get one line.
"""

from __future__ import annotations

from collections import OrderedDict

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from grader.report.format import assignment_notes, label
from grader.results import AssignmentResult, CaseResult, GradeResult, function_status

__all__ = ["print_result", "STATUS_STYLE"]

STATUS_STYLE = {
    "passed": "green", "failed": "red", "banned": "magenta", "not_implemented": "yellow", "error": "red",
    "timeout": "red", "skipped": "dim", "missing": "yellow",
}



def _fmt(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".") if x != int(x) else str(int(x))


def _status(s: str) -> Text:
    return Text(label(s), style=STATUS_STYLE.get(s, ""))


def print_result(result: GradeResult, *, console: Console | None = None, verbose: bool = False,
                 hidden_note: str | None = None) -> None:
    """Print ``result`` for a person.

    Args:
        console: where to print (default: stdout).
        verbose: show every failing case in full, not only the first per function.
        hidden_note: a line shown under the total (the student kit's "hidden cases" notice).
    """
    con = console or Console(highlight=False, soft_wrap=False)
    head = (f"[bold]grade[/] {escape(result.versions.get('grade', ''))} · submission: {escape(result.submission)}"
            f" · devices: {', '.join(result.devices)} · {result.seconds:.2f} s")
    con.print(head)
    for p in result.problems:
        con.print(f"[red]problem:[/] {escape(p)}")

    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    table.add_column("assignment")
    table.add_column("function")
    table.add_column("cases passed", justify="right")
    table.add_column("score", justify="right")
    table.add_column("status")
    for a in result.assignments:
        first = True
        for fname, cases in _by_function(a).items():
            passed = sum(c.status == "passed" for c in cases)
            score = sum(c.score for c in cases)
            mx = sum(c.max_score for c in cases)
            st = function_status(cases)
            table.add_row(a.id if first else "", fname, f"{passed}/{len(cases)}", f"{_fmt(score)}/{_fmt(mx)}",
                          _status(st))
            first = False
        table.add_row("", Text("total", style="bold"), "", Text(f"{_fmt(a.score)}/{_fmt(a.max_score)}", style="bold"),
                      _status(a.status), end_section=True)
    con.print(table)
    con.print(Text(f"Total: {_fmt(result.score)}/{_fmt(result.max_score)}", style="bold"))
    if hidden_note:
        con.print(Text(hidden_note, style="yellow"))

    for a in result.assignments:
        _print_details(con, a, verbose=verbose)


def _by_function(a: AssignmentResult) -> "OrderedDict[str, list[CaseResult]]":
    out: OrderedDict[str, list[CaseResult]] = OrderedDict()
    for c in a.cases:
        out.setdefault(c.function, []).append(c)
    return out




def _print_details(con: Console, a: AssignmentResult, *, verbose: bool) -> None:
    notes = assignment_notes(a)
    if notes:
        con.print()
        con.rule(f"{a.id}", style=STATUS_STYLE.get(a.status, ""))
        for n in notes:
            con.print("[cyan]note:[/] " + escape(n))
    if a.status == "passed":
        return
    if a.message and a.status in ("error", "missing"):
        con.print()
        con.rule(f"{a.id}", style=STATUS_STYLE.get(a.status, ""))
        con.print(escape(a.message))
        return
    shown_rule = False
    for fname, cases in _by_function(a).items():
        bad = [c for c in cases if c.status != "passed"]
        if not bad:
            continue
        if not shown_rule and not notes:
            con.print()
            con.rule(f"{a.id}", style="red")
        shown_rule = True
        if all(c.status == "not_implemented" for c in cases):
            msg = cases[0].message
            detail = "" if msg.startswith("not implemented yet") else f" — {escape(msg)}"
            con.print(f"[yellow]•[/] [bold]{fname}[/]: not implemented yet (raises NotImplementedError){detail}"
                      if not detail else f"[yellow]•[/] [bold]{fname}[/]: not implemented{detail}")
            continue
        con.print(f"[red]•[/] [bold]{fname}[/]: {len(cases) - len(bad)}/{len(cases)} cases passed")
        diagnoses: "OrderedDict[str, CaseResult]" = OrderedDict()
        for i, c in enumerate(bad):
            if c.diagnosis and c.diagnosis.id not in diagnoses:
                diagnoses[c.diagnosis.id] = c
        full = bad if verbose else [bad[0]] + [c for c in diagnoses.values() if c is not bad[0]]
        for c in bad:
            label = f"{c.id} [{c.dtype}]" + (" (hidden)" if c.hidden else "")
            desc = f" — {c.description}" if c.description else ""
            if c in full:
                con.print(f"  [bold]{escape(label)}[/]{escape(desc)}: ", _status(c.status))
                for line in c.message.splitlines():
                    con.print("    " + escape(line))
                if c.expected_excerpt or c.got_excerpt:
                    con.print("    expected " + escape(c.expected_excerpt))
                    con.print("    got      " + escape(c.got_excerpt))
                if c.diagnosis:
                    con.print(f"    [bold cyan]Likely mistake:[/] {escape(c.diagnosis.title)}. "
                              f"{escape(c.diagnosis.hint)}")
                for n in c.notes:
                    con.print(f"    [cyan]{escape(n)}[/]")
            else:
                first = c.message.splitlines()[0] if c.message else ""
                con.print(f"  {escape(label)}: ", _status(c.status), Text(" " + first[:160], style="dim"))
        shown = {n for c in full for n in c.notes}
        extra = list(dict.fromkeys(n for c in bad for n in c.notes if n not in shown))
        for n in extra[:1]:
            con.print(f"  [cyan]{escape(n)}[/]")
    for fname, text in a.output:
        if "[grade: your code printed" in text:
            con.print(f"  [yellow]{fname}:[/] " + escape(text.strip().splitlines()[-1]))
