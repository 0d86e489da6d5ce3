"""grader.sandbox.inside.ipython: a notebook's IPython calls are harmless, and a notebook graded cell by
cell (in-process here, as the sandbox's child runs it) defines its functions even when a cell raises."""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from grader.sandbox.inside import ipython
from grader.submission.load import load_submission

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def ns(tmp_path, monkeypatch):
    """A fresh notebook namespace with the stand-ins installed; sys.meta_path and IPython modules restored."""
    from grader.submission import notebook

    notebook._manager()  # the loader runs in the grader's process, before any stand-in exists
    monkeypatch.chdir(tmp_path)
    meta = list(sys.meta_path)
    saved = {k: v for k, v in sys.modules.items() if k == "IPython" or k.startswith("IPython.")}
    namespace = {"__name__": "notebook"}
    ipython.install(namespace)
    yield namespace
    sys.meta_path[:] = meta
    for k in [k for k in sys.modules if k == "IPython" or k.startswith("IPython.")]:
        del sys.modules[k]
    sys.modules.update(saved)


def run(ns, code: str):
    exec(compile(code, "<cell>", "exec"), ns)


def test_display_and_shell_lines_do_nothing(ns, capsys):
    run(ns, "display(1, 'x')\nr = get_ipython().system('rm -rf /')\nfiles = get_ipython().getoutput('ls')\n"
            "get_ipython().run_line_magic('matplotlib', 'inline')\nget_ipython().run_line_magic('pinfo', 'x')\n"
            "get_ipython().magic('load_ext autoreload')\n")
    assert ns["r"] is None and ns["files"] == [] and ns["files"].s == "" and ns["files"].n == ""
    assert capsys.readouterr().out == ""
    assert os.listdir(".") == []


def test_time_magics_run_their_code_in_the_notebook(ns):
    shell = ns["get_ipython"]()
    assert shell.user_ns is ns
    shell.run_line_magic("time", "a = 2 + 3")
    shell.run_line_magic("timeit", "-n 10 -r 3 b = a * 2")
    assert shell.run_line_magic("time", "a + 1") == 6
    shell.run_cell_magic("time", "", "def f(x):\n    return x + a\n")
    shell.run_cell_magic("capture", "cap --no-stderr", "c = f(1)\n")
    assert (ns["a"], ns["b"], ns["c"], ns["cap"].stdout) == (5, 10, 6, "")


def test_writefile_writes_into_the_working_folder(ns, tmp_path):
    shell = ns["get_ipython"]()
    shell.run_cell_magic("writefile", "helpers.py", "X = 1\n")
    shell.run_cell_magic("writefile", "-a helpers.py", "Y = 2\n")
    assert (tmp_path / "helpers.py").read_text() == "X = 1\nY = 2\n"


def test_ipython_imports_get_the_stand_ins(ns):
    run(ns, "import IPython\n"
            "from IPython.display import display as d2, HTML, Markdown, clear_output, Image\n"
            "from IPython import get_ipython as g2\n"
            "from IPython.core.interactiveshell import InteractiveShell\n"
            "InteractiveShell.ast_node_interactivity = 'all'\n"
            "from IPython.core.debugger import set_trace\n"
            "from IPython.core.magic import register_cell_magic\n"
            "@register_cell_magic\ndef mine(line, cell):\n    return 1\n"
            "from IPython.lib.display import YouTubeVideo\n"
            "h = HTML('<b>x</b>'); clear_output(wait=True); set_trace(); d2(h)\n"
            "same = g2() is get_ipython()\n")
    assert ns["same"] and ns["IPython"].version_info >= (8, 24)
    assert callable(ns["mine"]) and ns["h"].data == "<b>x</b>"
    assert sys.modules["IPython"].__file__ is None  # the stand-in, even where IPython is installed


def test_matplotlib_sees_a_harmless_ipython(ns):
    run(ns, "import IPython\nimport matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
            "plt.ion()\nplt.plot([1, 2]); plt.show(); plt.close('all')\n")


def _notebook(path, *cells):
    nb = new_notebook()
    nb.cells = [new_code_cell(c) for c in cells]
    nbformat.write(nb, str(path))
    return path


def run_like_the_child(module, ns):
    """What the sandbox's child does: each cell in order; an exception is reported with the cell's
    number and line, and the next cell runs."""
    errors = []
    for c in module.run_cells():
        if c.writefile:
            Path(c.writefile).parent.mkdir(parents=True, exist_ok=True)
            Path(c.writefile).write_text(c.source)
            continue
        try:
            exec(compile(c.source, c.filename, "exec"), ns)
        except Exception as e:  # noqa: BLE001
            frame = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == c.filename][-1]
            errors.append(f"cell {c.number}, line {frame.lineno}: {type(e).__name__}")
    return errors


def test_a_notebook_runs_cell_by_cell_with_magics(ns, tmp_path):
    sys.path.insert(0, str(tmp_path))
    try:
        nb = _notebook(tmp_path / "hw.ipynb",
                       "%matplotlib inline\n!pip install torch\nimport math",
                       "%%writefile helper_mod_for_test.py\ndef twice(x):\n    return 2 * x\n",
                       "%%time\nfrom helper_mod_for_test import twice\n\ndef f(x):\n    return twice(x) + 1\n",
                       "files = !ls\nfirst = files[0]\n",
                       "%%bash\necho skipped\n",
                       "x = 1\nprint(undefined_name)\n",
                       "def g(x):\n    %time y = f(x)\n    return y\ndisplay(g(1))\n")
        m = load_submission(nb).modules["*"]
        errors = run_like_the_child(m, ns)
        assert errors == ["cell 4, line 2: IndexError", "cell 6, line 2: NameError"]
        assert ns["g"](2) == 5 and ns["x"] == 1
        assert any(n.startswith("cell 5: skipped") for n in m.notes)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("helper_mod_for_test", None)


@pytest.mark.parametrize("path", sorted((ROOT / "tests" / "submissions" / "correct").glob("*/*.ipynb")),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_correct_notebook_fixtures_define_every_graded_function(ns, tmp_path, path):
    """In-process, the real-style notebooks define what they must and agree with the reference on a case
    (the sandboxed, full grading is tests/test_submissions.py)."""
    import copy

    import matplotlib

    matplotlib.use("Agg")
    from grader.catalog.project import load_catalog
    from grader.judge.compare import compare
    from grader.sandbox.wire import roundtrip

    sys.path.insert(0, str(tmp_path))
    try:
        m = load_submission(path).modules["*"]
        run_like_the_child(m, ns)
    finally:
        sys.path.remove(str(tmp_path))
    catalog = load_catalog(ROOT / "reference")
    a = catalog.get(path.parent.name)
    for f in a.functions:
        assert f.name in m.names and callable(ns.get(f.name)), f.name
        inst = catalog.instances(a, f, include_hidden=False)[0]
        got = roundtrip(ns[f.name](*copy.deepcopy(inst.call.args), **copy.deepcopy(dict(inst.call.kwargs))))
        assert compare(inst.expected, got, tol=a.tolerance_for(f, inst.case, inst.dtype)) == [], f.name


def test_what_a_notebook_may_change_is_not_the_graders_code(ns):
    """The sandbox treats the grader's modules and classes as read-only while the student's code runs
    (a change ends the run as tampering): what notebooks customise must live elsewhere."""
    before = {k: dict(vars(v)) for k, v in vars(ipython).items() if isinstance(v, type)}
    module_before = {k: v for k, v in vars(ipython).items() if callable(v)}
    run(ns, "from IPython.core.interactiveshell import InteractiveShell\n"
            "InteractiveShell.ast_node_interactivity = 'all'\n"
            "import IPython.display as d\nd.HTML.custom = 1\nIPython = __import__('IPython')\n"
            "IPython.display.display = print\n")
    after = {k: dict(vars(v)) for k, v in vars(ipython).items() if isinstance(v, type)}
    assert after == before
    assert {k: v for k, v in vars(ipython).items() if callable(v)} == module_before
