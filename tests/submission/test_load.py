"""grader.loader: reading submissions (folder, .py, .ipynb) as text, never importing them."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.submission.load import SubmissionError, load_submission

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


def _module(path):
    return load_submission(path).modules["*"]


def _cell(m, number):
    return next(c for c in m.cells if c.number == number)


def test_notebook_fixture_magics_become_harmless_python(fixtures_dir):
    sub = load_submission(fixtures_dir / "notebooks" / "activations_magics.ipynb")
    m = sub.modules["*"]
    assert sub.kind == "ipynb" and m.notebook
    assert m.syntax_error is None
    assert {"sigmoid", "sigmoid_grad", "softmax", "softmax_jacobian", "softmax_backward", "y", "files"} <= m.names
    assert "My solutions" not in m.source  # markdown cells are not code
    # IPython's own translation, as Jupyter runs it
    assert "get_ipython().run_line_magic('matplotlib', 'inline')" in m.source
    assert "get_ipython().system('pip list | head -3')" in m.source
    assert "files = get_ipython().getoutput('ls')" in m.source
    assert "get_ipython().run_line_magic('pinfo', 'torch.exp')" in m.source
    # %time runs its statement (so y is bound), %%timeit runs its body
    assert "\ny = torch.ones(3)\n" in m.source and "\n        pass\n" in m.source
    timeit = _cell(m, 3)
    assert timeit.source.splitlines()[1:] == ["x = torch.randn(100)", "torch.exp(x)"]
    assert [c.number for c in m.cells] == [2, 3, 4, 5, 6, 7]  # numbered as in the notebook, markdown counted
    assert [n.split(":")[0] for n in m.notes] == ["cell 4, line 3"]  # files = !ls: an empty list here
    for c in m.cells:
        compile(c.source, c.filename, "exec")
        assert c.filename.endswith(f"activations_magics.ipynb [cell {c.number}]")


@pytest.mark.parametrize("line, python", [
    ("%matplotlib inline", "get_ipython().run_line_magic('matplotlib', 'inline')"),
    ("!ls -la", "get_ipython().system('ls -la')"),
    ("!pip install x", "get_ipython().system('pip install x')"),
    ("x?", "get_ipython().run_line_magic('pinfo', 'x')"),
    ("torch.nn.functional??", "get_ipython().run_line_magic('pinfo2', 'torch.nn.functional')"),
    ("?torch", "get_ipython().run_line_magic('pinfo', 'torch')"),
    ("y = !ls", "y = get_ipython().getoutput('ls')"),
    ("t = %timeit -o f()", "t = get_ipython().run_line_magic('timeit', '-o f()')"),
    ("%load_ext autoreload", "get_ipython().run_line_magic('load_ext', 'autoreload')"),
    ("%time w = g(1)", "w = g(1)"),
    ("%timeit -n 10 -r 2 g(2)", "g(2)"),
])
def test_each_magic_form_is_translated_in_place(tmp_path, line, python):
    nb = _notebook(tmp_path / "n.ipynb", f"import math\n{line}\nz = 1\n")
    c = _module(nb).cells[0]
    assert c.source.splitlines() == ["import math", python, "z = 1"]
    compile(c.source, "n.ipynb", "exec")


def test_indented_magic_keeps_the_block_valid(tmp_path):
    nb = _notebook(tmp_path / "n.ipynb", "def f(x):\n    %time y = x\n    !echo hi\n    return y\n")
    c = _module(nb).cells[0]
    assert c.source.splitlines() == ["def f(x):", "    y = x", "    get_ipython().system('echo hi')", "    return y"]


def test_a_magic_continued_over_lines_keeps_the_line_count(tmp_path):
    nb = _notebook(tmp_path / "n.ipynb", "%config InlineBackend.figure_format = \\\n    'retina'\n"
                                         "def f(:\n    pass\n")
    m = _module(nb)
    assert not m.cells
    assert "at cell 1, line 3" in m.notes[0]  # the student's line 3, though the magic took two lines
    nb = _notebook(tmp_path / "m.ipynb", "!echo a \\\n  b\nx = 1\n")
    assert _module(nb).cells[0].source.splitlines()[2] == "x = 1"


def test_time_cell_magic_runs_its_body_as_the_cell(tmp_path):
    nb = _notebook(tmp_path / "n.ipynb", "md:# title", "\n%%time\ndef softmax(x):\n    return x\n")
    m = _module(nb)
    [c] = m.cells
    assert c.number == 2 and c.source.splitlines()[0] == ""
    assert c.source.splitlines()[1].startswith("# %%time")
    assert c.source.splitlines()[2:] == ["def softmax(x):", "    return x"]
    assert "softmax" in m.names and m.notes == ()


def test_capture_binds_its_name(tmp_path):
    nb = _notebook(tmp_path / "n.ipynb", "%%capture log --no-stderr\nprint(1)\n")
    c = _module(nb).cells[0]
    assert c.source.splitlines() == ["get_ipython().run_cell_magic('capture', 'log --no-stderr', '')  # %%capture",
                                     "print(1)"]


def test_writefile_cells_become_files(tmp_path):
    nb = _notebook(tmp_path / "n.ipynb", "%%writefile helpers.py\ndef h():\n    return 1\n",
                   "%%writefile -a helpers.py\nX = 2\n", "%%file data/notes.txt\nhello\n",
                   "from helpers import h\n")
    m = _module(nb)
    w1, w2, w3, code = m.cells
    assert (w1.writefile, w1.source) == ("helpers.py", "def h():\n    return 1\n")
    assert (w2.writefile, w2.source) == ("helpers.py", "def h():\n    return 1\nX = 2\n")  # -a appends
    assert (w3.writefile, w3.source) == ("data/notes.txt", "hello\n")
    assert code.writefile is None and "h" in m.names
    assert "def h" not in m.names and "# def h():" in m.source  # the file's content is not the notebook's


@pytest.mark.parametrize("target", ["/etc/passwd", "../up.py", "a/../../b.py"])
def test_writefile_outside_the_folder_is_skipped(tmp_path, target):
    nb = _notebook(tmp_path / "n.ipynb", f"%%writefile {target}\nx\n")
    m = _module(nb)
    assert m.cells == () and "writes outside the notebook's folder" in m.notes[0]


@pytest.mark.parametrize("magic", ["%%bash", "%%html", "%%javascript", "%%sh", "%%python3", "%%whatever"])
def test_other_cell_magics_are_skipped_with_a_note(tmp_path, magic):
    nb = _notebook(tmp_path / "n.ipynb", f"{magic}\necho hi\nexit 1\n", "def f():\n    return 1\n")
    m = _module(nb)
    assert [c.number for c in m.cells] == [2]
    assert "echo hi" not in "".join(c.source for c in m.cells) and "def f():" in m.source
    [note] = m.notes
    assert note.startswith(f"cell 1: skipped: `{magic}` cells are not run")


def test_ordinary_python_is_untouched(tmp_path):
    code = "a = 5 % 3\nb = a != 2\nc = {'x?': 1}\nprint('!not a shell line')\nd = a if b else 0\n"
    m = _module(_notebook(tmp_path / "n.ipynb", code))
    assert m.notes == ()
    assert m.cells[0].source == code and code in m.source


@pytest.mark.parametrize("code", [
    'msg = ("value %d"\n       % 3)\n',
    "ok = (1\n      != 2)\n",
    "s = \'\'\'\n%not a magic\n!not a shell line\n\'\'\'\n",
])
def test_continuation_lines_starting_with_an_operator_are_not_magics(tmp_path, code):
    m = _module(_notebook(tmp_path / "n.ipynb", code))
    assert m.notes == () and m.cells[0].source == code


def test_a_cell_with_a_syntax_error_is_skipped_and_the_others_kept(tmp_path):
    nb = _notebook(tmp_path / "work.ipynb", "import torch\n", "md:text", "x = 1\n\ndef f(:\n    pass\n",
                   "def g(x):\n    return x\n")
    m = _module(nb)
    assert m.syntax_error is None
    assert [c.number for c in m.cells] == [1, 4]
    assert m.names >= {"torch", "g"} and "f" not in m.names
    [note] = m.notes
    assert note.startswith("SyntaxError in work.ipynb at cell 3, line 3: ")
    assert "    def f(:\n" in note and "the other cells were" in note


def test_a_later_future_import_does_not_break_the_notebook(tmp_path):
    nb = _notebook(tmp_path / "n.ipynb", "x = 1\n", "from __future__ import annotations\ndef f(a: int): return a\n")
    m = _module(nb)
    assert [c.number for c in m.cells] == [1, 2] and "f" in m.names and m.notes == ()


def test_where_names_the_cell_and_its_line(tmp_path):
    nb = _notebook(tmp_path / "n.ipynb", "md:# t", "import torch\n", "%%bash\nls\n", "a = 1\nb = 2\n")
    m = _module(nb)
    lines = m.source.splitlines()
    assert m.where(lines.index("b = 2") + 1) == "cell 4, line 2"
    assert m.where(lines.index("import torch") + 1) == "cell 2, line 1"
    assert _cell(m, 4).first_line == lines.index("a = 1") + 1
    assert m.where(None) == "an unknown line"
    py = tmp_path / "p.py"
    py.write_text("x = 1\n")
    assert _module(py).where(1) == "line 1" and _module(py).run_cells()[0].number == 0


def test_dedented_cells_and_prompts_as_ipython_cleans_them(tmp_path):
    m = _module(_notebook(tmp_path / "n.ipynb", "\n    y = 3\n    w = 4\n", ">>> a = 1\n>>> b = 2\n"))
    assert m.cells[0].source == "\ny = 3\nw = 4\n" and m.cells[1].source == "a = 1\nb = 2\n"


def test_without_ipython_magic_lines_become_pass(tmp_path, monkeypatch):
    from grader.submission import notebook

    monkeypatch.setattr(notebook, "_MANAGER", None)
    monkeypatch.setattr(notebook, "_MANAGER_LOADED", True)
    nb = _notebook(tmp_path / "n.ipynb", "%matplotlib inline\nx = (1\n%2)\ny = !ls\n")
    m = _module(nb)
    assert m.cells[0].source.splitlines() == ["pass  # grade: IPython line", "x = (1", "%2)",
                                              "pass  # grade: IPython line"]
    assert len(m.notes) == 2 and "IPython is not installed" in m.notes[0]


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
    m = load_submission(nb).modules["*"]
    assert m.syntax_error is None  # one broken cell does not stop the notebook
    assert any("def f(:" in n and "cell 3, line 1" in n for n in m.notes)


def test_locate_turns_a_cell_frame_into_the_cell_and_line(tmp_path):
    m = _module(_notebook(tmp_path / "n.ipynb", "md:# t", "import math\n", "def f():\n    return 1 / 0\n"))
    cell = _cell(m, 3)
    assert m.locate(cell.filename, 2) == "cell 3, line 2"
    assert m.locate(m.filename, 7) is None and m.locate("/usr/lib/python3.11/os.py", 5) is None
    py = tmp_path / "p.py"
    py.write_text("x = 1\n")
    mp = _module(py)
    assert mp.locate(mp.filename, 1) == "line 1" and mp.locate("other.py", 1) is None


def test_why_missing_explains_a_function_written_in_a_cell_that_did_not_run(tmp_path):
    nb = _notebook(tmp_path / "hw.ipynb", "import torch\n",
                   "def softmax(x):\n    return x\n\ndef softmax_jacobian(x)\n    return x\n",
                   "%%bash\ndef not_python():\n", "def sigmoid(x):\n    return x\n")
    m = _module(nb)
    assert "softmax" not in m.names and "sigmoid" in m.names
    assert m.why_missing("softmax") == ("`softmax` is written in cell 2, which was not run: SyntaxError at "
                                        "cell 2, line 4: expected ':'")
    assert m.why_missing("not_python").startswith("`not_python` is written in cell 3, which was not run: `%%bash`")
    assert m.why_missing("sigmoid") is None and m.why_missing("nowhere") is None
