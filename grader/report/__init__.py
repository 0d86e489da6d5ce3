"""Reports of a :class:`grader.results.GradeResult`: terminal, JSON and HTML."""

from .html import render_html, write_html
from .jsonio import write_json
from .terminal import print_result

__all__ = ["print_result", "render_html", "write_html", "write_json"]
