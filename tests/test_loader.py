"""grader.loader: reading submissions (folder, .py, .ipynb) as text, never importing them."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.submission.load import SubmissionError, load_submission, notebook_source

IDS = ("activations", "cross_entropy", "metrics")


def _notebook(path, *cells):
    nb = new_notebook()
    nb.cells = [new_markdown_cell(c[3:]) if c.startswith("md:") else new_code_cell(c) for c in cells]
    nbformat.write(nb, str(path))
    return path


# --------------------------------------------------------------------------- kinds


def test_folder_maps_modules_by_assignment_id(tmp_path):
    (tmp_path / "activations.py").write_text("def sigmoid(x):\n    return x\n")
    _notebook(tmp_path / "metrics.ipynb", "def confusion_matrix(y_true, y_pred, num_classes):\n    return 0\n")
    (tmp_path / "unrelated.py").write_text("raise SystemExit\n")
    sub = load_submission(tmp_path, assignment_ids=IDS)
    assert sub.kind == "folder" and not sub.single_file
    assert set(sub.modules) == {"activations", "metrics"}
    assert sub.module_for("activations").names == {"sigmoid"}
    assert "confusion_matrix" in sub.module_for("metrics").names
    assert sub.module_for("cross_entropy") is None
    assert sub.directory == str(tmp_path.resolve())


def test_folder_prefers_py_over_ipynb(tmp_path):
    (tmp_path / "activations.py").write_text("def from_py(x):\n    return x\n")
    _notebook(tmp_path / "activations.ipynb", "def from_nb(x):\n    return x\n")
    sub = load_submission(tmp_path, assignment_ids=IDS)
    assert "from_py" in sub.module_for("activations").names


def test_single_py_serves_every_assignment(tmp_path):
    f = tmp_path / "my_work.py"
    f.write_text("import torch as T\nfrom math import exp\n\ndef softmax(x, dim=-1):\n    return x\n\n"
                 "class Helper:\n    pass\n\nCONST = 3\n")
    sub = load_submission(f, assignment_ids=IDS)
    assert sub.kind == "py" and sub.single_file
    m = sub.module_for("activations")
    assert m is sub.module_for("metrics")
    assert m.name == "my_work"
    assert m.names == {"T", "exp", "softmax", "Helper", "CONST"}
    assert m.syntax_error is None


def test_py_with_non_identifier_name_gets_a_safe_module_name(tmp_path):
    f = tmp_path / "my-work 2.py"
    f.write_text("x = 1\n")
    assert load_submission(f).modules["*"].name == "submission"


def test_utf8_bom_is_accepted(tmp_path):
    f = tmp_path / "bom.py"
    f.write_bytes(b"\xef\xbb\xbfdef sigmoid(x):\n    return x\n")
    m = load_submission(f).modules["*"]
    assert m.syntax_error is None and "sigmoid" in m.names and not m.source.startswith("\ufeff")


# --------------------------------------------------------------------------- notebooks


def test_notebook_fixture_magics_are_skipped_not_fatal(fixtures_dir):
    sub = load_submission(fixtures_dir / "notebooks" / "activations_magics.ipynb")
    m = sub.modules["*"]
    assert sub.kind == "ipynb"
    assert m.syntax_error is None
    assert {"sigmoid", "sigmoid_grad", "softmax", "softmax_jacobian", "softmax_backward"} <= m.names
    for gone in ("%matplotlib", "!pip", "%%timeit", "torch.exp?", "??torch", "= !ls", "%time"):
        assert gone not in m.source, gone
    assert "My solutions" not in m.source  # markdown cells are not code
    joined = " | ".join(m.notes)
    for noted in ("%matplotlib inline", "!pip list", "cell magic %%timeit", "torch.exp?", "files = !ls"):
        assert noted in joined, noted


@pytest.mark.parametrize("line", [
    "%matplotlib inline", "%%time", "!ls -la", "!pip install x", "x?", "torch.nn.functional??", "?torch",
    "y = !ls", "t = %timeit -o f()", "%load_ext autoreload",
])
def test_each_magic_form_is_replaced_by_pass(tmp_path, line):
    nb = _notebook(tmp_path / "n.ipynb", f"import math\n{line}\nz = 1\n")
    src, notes = notebook_source(nb)
    body = src.splitlines()
    assert "import math" in body and "z = 1" in body
    assert line.strip() not in src
    assert len(notes) == 1
    compile(src, "n.ipynb", "exec")  # still valid Python


def test_indented_magic_keeps_the_block_valid(tmp_path):
    nb = _notebook(tmp_path / "n.ipynb", "def f(x):\n    %time y = x\n    return x\n")
    src, _ = notebook_source(nb)
    compile(src, "n.ipynb", "exec")
    assert "    pass  # grade: skipped IPython line" in src


def test_cell_magic_skips_the_whole_cell(tmp_path):
    nb = _notebook(tmp_path / "n.ipynb", "%%bash\necho hi\nexit 1\n", "def f():\n    return 1\n")
    src, notes = notebook_source(nb)
    assert "echo hi" not in src and "def f():" in src
    assert any("%%bash" in n for n in notes)


def test_ordinary_python_is_untouched(tmp_path):
    code = "a = 5 % 3\nb = a != 2\nc = {'x?': 1}\nprint('!not a shell line')\nd = a if b else 0\n"
    nb = _notebook(tmp_path / "n.ipynb", code)
    src, notes = notebook_source(nb)
    assert notes == ()
    assert code in src


@pytest.mark.parametrize("code", [
    'msg = ("value %d"\n       % 3)\n',
    "ok = (1\n      != 2)\n",
])
def test_continuation_lines_starting_with_an_operator_are_not_magics(tmp_path, code):
    nb = _notebook(tmp_path / "n.ipynb", code)
    m = load_submission(nb).modules["*"]
    assert m.syntax_error is None, m.syntax_error


@pytest.mark.parametrize("content, reason", [
    pytest.param(b"not json at all", "NotJSONError", id="not_json"),
    pytest.param(b'{"a": 1}', "not a readable Jupyter notebook", id="json_not_notebook"),
    pytest.param(b"[1, 2, 3]", "not a readable Jupyter notebook", id="json_list"),
    pytest.param(b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code", '
                 b'"source": 5}]}', "not a readable Jupyter notebook", id="invalid_cell"),
    pytest.param(b"", "not a readable Jupyter notebook", id="empty_file"),
])
def test_unreadable_notebook_is_a_submission_error(tmp_path, content, reason):
    f = tmp_path / "broken.ipynb"
    f.write_bytes(content)
    with pytest.raises(SubmissionError) as ei:
        load_submission(f)
    assert "broken.ipynb" in str(ei.value) and reason in str(ei.value)


# --------------------------------------------------------------------------- unreadable files


@pytest.mark.parametrize("content, words", [
    pytest.param(b"\x7fELF\x02\x01\x01\x00\x00\x00", "binary data", id="binary_nul"),
    pytest.param(b"x = '\xe9t\xe9'\n", "not UTF-8", id="latin1"),
    pytest.param(b"\xff\xfe" + "x = 1\n".encode("utf-16-le"), "binary data", id="utf16"),
])
def test_unreadable_py_is_a_submission_error(tmp_path, content, words):
    f = tmp_path / "activations.py"
    f.write_bytes(content)
    with pytest.raises(SubmissionError, match=words):
        load_submission(f)
    with pytest.raises(SubmissionError, match=words):  # the same inside a folder
        load_submission(tmp_path, assignment_ids=IDS)


def test_non_utf8_message_says_how_to_fix(tmp_path):
    f = tmp_path / "a.py"
    f.write_bytes(b"# caf\xe9\n")
    with pytest.raises(SubmissionError) as ei:
        load_submission(f)
    assert "byte 5" in str(ei.value) and "Save the file as UTF-8" in str(ei.value)


@pytest.mark.parametrize("name", ["nope", "nope.py", "nope.ipynb"])
def test_missing_path_is_a_submission_error(tmp_path, name):
    with pytest.raises(SubmissionError, match="no such file or folder"):
        load_submission(tmp_path / name)


def test_wrong_suffix_is_a_submission_error(tmp_path):
    f = tmp_path / "solution.txt"
    f.write_text("def f(): pass\n")
    with pytest.raises(SubmissionError, match="expected a folder, a .py file or a .ipynb notebook"):
        load_submission(f)


# --------------------------------------------------------------------------- syntax errors


@pytest.mark.parametrize("source, line", [
    ("import torch\n\ndef softmax(x:\n    return x\n", 3),
    ("def f():\n    return 1\n  x = 2\n", 3),
    ("def f():\n    return 1 +\n", 2),
])
def test_syntax_error_is_reported_with_its_line(tmp_path, source, line):
    f = tmp_path / "activations.py"
    f.write_text(source)
    m = load_submission(f).modules["*"]
    assert m.syntax_error is not None
    assert m.syntax_error.startswith("SyntaxError in activations.py at line ")
    assert f"at line {line}" in m.syntax_error
    assert m.names == frozenset()


def test_syntax_error_shows_the_offending_line_with_a_caret(tmp_path):
    f = tmp_path / "activations.py"
    f.write_text("import torch\n\ndef softmax(x:\n    return x\n")
    err = load_submission(f).modules["*"].syntax_error
    assert "    def softmax(x:\n" in err and err.rstrip().endswith("^")


def test_notebook_syntax_error_shows_the_students_code(tmp_path):
    nb = _notebook(tmp_path / "work.ipynb", "import torch\n", "x = 1\n", "def f(:\n    pass\n")
    err = load_submission(nb).modules["*"].syntax_error
    assert err is not None and "def f(:" in err
