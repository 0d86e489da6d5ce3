"""grader.report.html: a self-contained, escaped, readable HTML report (and a headless-Chromium screenshot)."""

from __future__ import annotations

import importlib.util
import re
import struct
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markupsafe import escape

from grader.report import render_html, write_html
from grader.results import AssignmentResult, CaseResult, DeviceRun, Diagnosis, GradeResult

XSS = '<script>alert("pwned")</script><img src=x onerror=alert(1)>'


def synthetic_result() -> GradeResult:
    """A result exercising every status, two devices, printed output and hostile student text."""
    diag = Diagnosis("softmax_no_max_shift", "softmax without the max shift", "Subtract the max along dim.",
                     "your output matches the known mistake")

    def case(cid, fn, status, score, mx=1.0, dtype="float32", **kw):
        return CaseResult(id=cid, function=fn, dtype=dtype, device="cpu,cuda", status=status, score=score,
                          max_score=mx, **kw)

    act = AssignmentResult(
        id="activations", title="Sigmoid & softmax", status="failed", score=3.0, max_score=9.0,
        source_file="/home/student/activations.py",
        output=(("softmax", f"debug print {XSS}\n"),),
        cases=(
            case("small", "sigmoid", "passed", 1.0, description="4x6 normal"),
            case("small", "sigmoid", "passed", 1.0, dtype="float64"),
            case("large_1e4", "softmax", "failed", 0.0, 2.0, description="logits ~ 1e4",
                 message="output: 5 of 18 elements are NaN or Inf where finite values were expected; first at [0, 4]",
                 diagnosis=diag, expected_excerpt="[0, 0:6] = [0., 0., 1.]", got_excerpt="[0, 0:6] = [0., nan, 0.]",
                 runs=(DeviceRun("cpu", "failed", "output: 5 of 18 elements are NaN"),
                       DeviceRun("cuda", "failed", "output: 5 of 18 elements are NaN"))),
            case("mixed_rows", "softmax", "failed", 0.0, description="rows near +-1e4", hidden=True,
                 message="output: 9 of 20 elements are NaN or Inf", diagnosis=diag,
                 expected_excerpt="[1., 0.]", got_excerpt="[nan, nan]"),
            case("dim0", "softmax", "failed", 0.0, message=f"output: values differ {XSS}",
                 expected_excerpt="[0.5, 0.5]", got_excerpt=f"[{XSS}]",
                 diagnosis=Diagnosis("x", f"title {XSS}", f"hint {XSS}", f"evidence {XSS}")),
            case("small", "softmax", "passed", 1.0),
            case("small", "softmax_backward", "error", 0.0,
                 message='your code raised an exception:\nTraceback (your code, most recent call last):\n'
                         '  File "/home/student/activations.py", line 31, in softmax_backward\n'
                         '    return s * g.sum(dim=2)\nIndexError: Dimension out of range'),
            case("small", "softmax_jacobian", "banned", 0.0,
                 message="uses a routine you must write by hand: torch.autograd.functional.jacobian (line 12)",
                 banned=("torch.autograd.functional.jacobian (line 12)",)),
            case("big", "sigmoid_grad", "timeout", 0.0, message="timed out after 2 s (the limit for this case)."),
        ))
    met = AssignmentResult(
        id="metrics", title="Metrics", status="not_implemented", score=0.0, max_score=2.0,
        cases=(case("cm", "confusion_matrix", "not_implemented", 0.0,
                    message="not implemented yet (raises NotImplementedError)."),
               case("prf", "precision_recall_f1", "not_implemented", 0.0,
                    message="`precision_recall_f1` is not defined in metrics.py.")))
    lstm = AssignmentResult(id="lstm", title="LSTM", status="missing", score=0.0, max_score=1.0,
                            message="no lstm.py (or lstm.ipynb) in work. Name your file after the assignment.",
                            cases=(case("t1", "lstm_forward", "not_implemented", 0.0, message="lstm.py was not found."),))
    return GradeResult(submission=f"work/{XSS}", score=3.0, max_score=12.0, assignments=(act, met, lstm),
                       devices=("cpu", "cuda"), seconds=1.5, graded_at="2026-01-01T00:00:00+00:00",
                       versions={"grade": "0.1.0", "torch": "2.13.0"}, problems=(f"problem {XSS}",))


class _Collector(HTMLParser):
    """Tags, attributes and text of a page, as a browser's parser sees them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def _parse(page: str) -> _Collector:
    p = _Collector()
    p.feed(page)
    return p


@pytest.fixture(scope="module")
def page() -> str:
    return render_html(synthetic_result(), notice="3 hidden cases are graded later")


@pytest.fixture(scope="module")
def buggy_page(grade, repo_root) -> str:
    r = grade(repo_root / "tests" / "submissions" / "buggy" / "activations" / "softmax_no_max_shift.py", "activations")
    return render_html(r)


# --------------------------------------------------------------------------- self-contained and safe


def test_self_contained(page, buggy_page):
    for p in (page, buggy_page):
        tags = _parse(p).tags
        assert not [t for t, _ in tags if t in ("script", "link", "iframe", "object", "embed", "img")], \
            [t for t, _ in tags if t in ("script", "link", "img")]
        for _, attrs in tags:
            for k in ("src", "href", "srcset", "action"):
                v = attrs.get(k) or ""
                assert not re.match(r"\s*(https?:|//|data:|javascript:)", v, re.I), (k, v)
        assert not re.search(r"url\(|@import", p), "CSS must not load anything"
        assert "<style>" in p


def test_student_text_is_escaped(page):
    tags = _parse(page).tags
    assert not [t for t, _ in tags if t in ("script", "img")]  # nothing injected
    assert not any(k.startswith("on") for _, attrs in tags for k in attrs)
    assert "<script>" not in page and "onerror=alert" not in page.replace("onerror=alert(1)&gt;", "")
    assert str(escape(XSS)) in page
    text = "".join(_parse(page).text)
    for where in ("debug print ", "output: values differ ", "title ", "hint ", "evidence ", "problem ", "work/"):
        assert where + XSS in text, where  # shown to the student, as text


def test_summary_and_score(buggy_page):
    text = " ".join("".join(_parse(buggy_page).text).split())
    assert "42 / 48" in text and "87.5%" in text
    assert "68 of 74 cases passed" in text and "softmax" in text
    assert "What to fix" in text and 'id="to-fix"' in buggy_page


def test_per_case_rows_messages_diagnoses_and_excerpts(buggy_page):
    p = buggy_page
    assert p.count('<tr class="passed">') == 68 and p.count('<tr class="bad">') == 6
    assert "NaN or Inf where finite values were expected" in p
    assert "Likely mistake: softmax without the max shift" in p
    assert "Subtract the max along dim (keepdim=True) before exp()" in p
    assert "[0, 0:6] = [0., 0., 0., 0., 1., 0.]" in p and "nan" in p


def test_failing_functions_are_open_and_passed_ones_collapsed(buggy_page):
    opened = re.findall(r'<details class="fn (\w+)" id="activations-(\w+)"( open)?>', buggy_page)
    state = {name: bool(op) for status, name, op in opened}
    assert state == {"sigmoid": False, "sigmoid_grad": False, "softmax": True, "softmax_jacobian": False,
                     "softmax_backward": False}


def test_one_full_explanation_per_distinct_mistake_and_the_rest_folded(page):
    fix = page.split('id="fix-activations-softmax"', 1)[1].split("</section>", 1)[0]
    assert fix.count('<article class="case-detail">') == 2  # first failing case + the other diagnosis
    assert "1 more failing case of softmax (click to expand)" in fix
    assert fix.count("Likely mistake:") == 3  # the folded case keeps its full details


@pytest.mark.parametrize("words", [
    "IndexError: Dimension out of range",  # a student exception: their own frames
    "torch.autograd.functional.jacobian (line 12)",  # banned
    "timed out after 2 s",  # timeout
    "no lstm.py (or lstm.ipynb) in work",  # missing module
    "Not implemented yet",
    "still raises NotImplementedError",
    "`precision_recall_f1` is not defined in metrics.py.",
    "3 hidden cases are graded later",  # the kit notice
    "hidden",
])
def test_every_status_is_reported(page, words):
    assert str(escape(words)) in page


def test_two_devices_show_per_device_runs(page):
    assert "<th>device</th>" in page and "cpu,cuda" in page
    assert '<table class="runs">' in page


def test_all_passed_report(grade, repo_root):
    page = render_html(grade(repo_root / "reference", "activations"))
    assert "All 74 cases passed" in page
    assert 'id="to-fix"' not in page and 'id="todo"' not in page
    assert "open>" not in page.split("All results", 1)[1]  # everything collapsed


def test_write_html_and_title(tmp_path):
    out = write_html(synthetic_result(), tmp_path / "deep" / "r.html", title="Week 3 <b>", notice=None)
    assert out == tmp_path / "deep" / "r.html"
    text = out.read_text(encoding="utf-8")
    assert "<title>Week 3 &lt;b&gt;</title>" in text
    assert text.count("<html") == 1 and text.rstrip().endswith("</html>")


# --------------------------------------------------------------------------- headless Chromium

_CHROMIUM = Path("/usr/bin/chromium")


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", head[16:24])


@pytest.mark.skipif(not _CHROMIUM.exists(), reason="Chromium is not installed (/usr/bin/chromium); install it with "
                                                   "`apt-get install -y chromium` to screenshot the report")
def test_screenshot_of_a_buggy_report(repo_root, tmp_path, worker):
    spec = importlib.util.spec_from_file_location("screenshot_report", repo_root / "scripts" / "screenshot_report.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    html = mod.render_report(html_path=tmp_path / "report.html")
    png = mod.screenshot(html, tmp_path / "report.png", width=1280, height=1400, chromium=str(_CHROMIUM))
    assert _png_size(png) == (1280, 1400)
    assert png.stat().st_size > 30_000, "a blank page compresses to a few KB; a rendered report is much larger"
