"""Reports of a :class:`grader.results.GradeResult`: terminal, JSON and HTML."""

from grader.report.html import render_html, write_html
from grader.report.jsonio import write_json
from grader.report.terminal import print_result

__all__ = ["print_result", "render_html", "write_html", "write_json"]
