"""The hostile corpus (tests/hostile/): student code that attacks the grader.

Each hostile file is a correct `activations` submission except for one
function (`softmax`), which attacks.  For each we assert the verdict on
`softmax`, that the other four functions were still graded (and passed),
that the grader and its worker are alive, that no process was left behind,
and that nothing was written outside the child's temporary directory.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from grader.api import check
from grader.judge.engine import Options
from grader.catalog.project import load_catalog
from grader.sandbox.worker import Worker

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = ROOT / "tests" / "hostile"
CATALOG = load_catalog(ROOT / "reference")
MARK = "/tmp/grade-hostile-mark"
# The hostile files look for the reference here (the worker below is spawned after this is set).
os.environ["GRADE_TEST_REFERENCE"] = str(ROOT / "reference" / "activations.py")


@pytest.fixture(scope="module")
def worker():
    w = Worker(start="spawn", secret_roots=(str(ROOT / "reference"),)).start()
    yield w
    w.close()


def _children(pid: int) -> list[int]:
    out = []
    for e in os.listdir("/proc"):
        if not e.isdigit():
            continue
        try:
            with open(f"/proc/{e}/stat", "rb") as f:
                stat = f.read()
            ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid:
            out.append(int(e))
    return out


def _descendants(pid: int) -> list[int]:
    todo, seen = [pid], []
    while todo:
        for c in _children(todo.pop()):
            seen.append(c)
            todo.append(c)
    return seen


def _as_folder(name: str, tmp: Path) -> Path:
    """A folder submission: the hostile file as activations.py, beside the shared correct base."""
    (tmp / "activations.py").write_text((HOSTILE / name).read_text())
    (tmp / "_base_activations.py").write_text((HOSTILE / "_base_activations.py").read_text())
    return tmp


def _grade(worker, name: str, others_pass: bool = True, **opts):
    import tempfile

    for suffix in (".shell", ".system", ".written"):
        if os.path.exists(MARK + suffix):
            os.unlink(MARK + suffix)
    opts.setdefault("case_seconds", 1.0)
    t = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        r = check(_as_folder(name, Path(tmp)), assignments=("activations",), device="cpu", worker=worker,
                  catalog=CATALOG, options=Options(**opts))
    elapsed = time.monotonic() - t
    a = r.assignment("activations")
    # The grader and its worker survived; the child and everything it started are gone.
    assert worker.alive
    deadline = time.monotonic() + 3
    while _descendants(worker._pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _descendants(worker._pid) == [], "a process of the submission outlived its job"
    # Nothing escaped to the file system.
    for suffix in (".shell", ".system", ".written"):
        assert not os.path.exists(MARK + suffix), f"the submission wrote {MARK + suffix}"
    # The other functions were graded in full.
    others = [c for c in a.cases if c.function != "softmax"]
    assert others
    if others_pass:
        assert all(c.status == "passed" for c in others), {c.key: c.status for c in others if not c.passed}
    softmax = [c for c in a.cases if c.function == "softmax"]
    return softmax, a, elapsed


HOSTILE_VERDICTS = [
    # file, status of softmax's first case, text in its message
    ("infinite_loop.py", "timeout", "timed out after"),
    ("memory_bomb.py", "error", "ran out of memory"),
    ("sys_exit.py", "error", "sys.exit"),
    ("os_exit.py", "error", "ended unexpectedly: exited with code 0"),
    ("keyboard_interrupt.py", "error", "KeyboardInterrupt"),
    ("segfault.py", "error", "SIGSEGV"),
    ("spawn_shell.py", "error", "not allowed to start a subprocess"),
    ("read_reference.py", "error", "not allowed to read"),
    ("native_read_reference.py", "error", "Permission denied"),
    ("import_reference.py", "error", "not allowed"),
    ("gc_scrape.py", "error", "not allowed to scan"),
    ("raise_limits.py", "error", "not allowed to change resource limits"),
    ("write_outside.py", "error", "not allowed to write"),
    ("ctypes_escape.py", "error", "not allowed to load a native library"),
    ("socket_open.py", "error", "not allowed to open a network socket"),
    ("patch_compare.py", "failed", "20 of 20 elements differ"),
    ("lying_subclass.py", "failed", "elements differ"),
    ("lazy_subclass.py", "failed", "overrides __torch_dispatch__"),
    ("fake_results.py", "failed", "elements differ"),
    ("obfuscated_banned.py", "banned", "torch.softmax"),
    ("runtime_banned.py", "banned", "at run time"),
    ("aten_banned.py", "banned", "aten::_softmax"),
    ("close_result_pipe.py", "error", "ended unexpectedly"),
]


def _softmax_earns_nothing(worker, name: str, status: str, text: str) -> float:
    """Grade the hostile file; its softmax's first case has ``status`` and ``text``, and no case of it
    scores. Returns the seconds grading took."""
    softmax, _, elapsed = _grade(worker, name)
    first = softmax[0]
    assert first.status == status, first.message
    assert text in first.message, first.message
    assert all(c.score == 0 for c in softmax)
    return elapsed


@pytest.mark.parametrize("name,status,text", HOSTILE_VERDICTS, ids=[v[0] for v in HOSTILE_VERDICTS])
def test_hostile_function_gets_a_clear_verdict(worker, name, status, text):
    _softmax_earns_nothing(worker, name, status, text)


# Issue 9: every family of banned routine that used to earn full marks. Each file hides its banned
# routine from the static scan (names built at run time), so the verdict is the run-time guard's.
BANNED_FAMILIES = [
    # file, status of softmax's first case, text in its message
    ("thread_banned.py", "error", "not allowed to start a thread"),
    ("thread_pool_banned.py", "error", "not allowed to start a thread"),
    ("tamper_pause_profiler.py", "banned", "the grader's guard was modified"),
    ("tamper_pause_modes.py", "banned", "the grader's guard was modified"),
    ("spoofed_library.py", "banned", "torch._C._nn.elu"),
    ("engine_internals.py", "banned", "a backward pass ran"),
    ("engine_run_backward.py", "banned", "a backward pass ran"),
    ("map_c_function.py", "banned", "torch._C._nn.elu"),
    ("safe_softmax.py", "banned", "aten::_safe_softmax"),
    ("scipy_softmax.py", "banned", "scipy.special"),
    ("tamper_closures.py", "banned", "the grader's guard was modified"),
    ("patch_builtins.py", "banned", "torch.softmax"),
    ("tamper_guard_instance.py", "banned", "the grader's guard was modified"),
]


@pytest.mark.parametrize("name,status,text", BANNED_FAMILIES, ids=[v[0] for v in BANNED_FAMILIES])
def test_banned_routine_family_earns_no_marks(worker, name, status, text):
    assert _softmax_earns_nothing(worker, name, status, text) < 60


@pytest.mark.parametrize("name,status", [("unwrap_library.py", "error"), ("captured_library.py", "banned")])
def test_another_librarys_c_routine_cannot_be_unwrapped_or_captured(worker, name, status):
    """scipy.special.expit is a numpy ufunc (no profiler event): the guard wraps it before the
    student's code runs, and the wrapper does not hand out the original."""
    _, a, _ = _grade(worker, name, others_pass=False)
    sigmoid = [c for c in a.cases if c.function == "sigmoid"]
    assert sigmoid and all(c.score == 0 for c in sigmoid)
    assert sigmoid[0].status == status, sigmoid[0].message
    if status == "banned":
        assert "scipy.special.expit" in sigmoid[0].message
    assert all(c.status == "passed" for c in a.cases if c.function != "sigmoid")


@pytest.mark.parametrize("name", ["tamper_record.py", "tamper_tables.py", "tamper_mode_classes.py"])
def test_modifying_the_guard_ends_the_process_and_earns_nothing(worker, name):
    """Patching the guard's classes, or emptying its tables, at import time: the sandbox's ledger sees
    the guard changed and ends the process (status confine.TAMPER_EXIT) at the first graded call,
    before anything is sent."""
    from grader.sandbox.inside.confine import TAMPER_EXIT

    softmax, a, _ = _grade(worker, name, others_pass=False)
    assert a.score == 0 and all(c.status in ("banned", "error") for c in a.cases)
    first = softmax[0]
    assert first.status == "banned" and "guard was modified" in first.message, first.message
    assert TAMPER_EXIT == 86


def test_a_wrapped_send_cannot_hide_a_banned_call(worker):
    """Wrapping the child's send to drop the banned-call record: the process ends (status
    confine.TAMPER_EXIT) as soon as the guard has a hit to report; hit-free functions are graded."""
    from grader.sandbox.inside.confine import TAMPER_EXIT

    softmax, a, _ = _grade(worker, "tamper_send.py", others_pass=False)
    assert all(c.score == 0 for c in softmax)
    first = softmax[0]
    assert first.status == "banned" and "guard was modified" in first.message, first.message
    assert TAMPER_EXIT == 86


def test_banned_family_json_is_written_within_the_deadline(tmp_path):
    """The CLI, as a user runs it, on a folder holding several attacks: it stays alive, writes its
    JSON in time, and no attack earns a point."""
    import json
    import subprocess
    import sys

    names = ["thread_banned.py", "tamper_pause_modes.py", "engine_internals.py", "tamper_send.py"]
    out = {}
    for name in names:
        sub = tmp_path / name.removesuffix(".py")
        sub.mkdir()
        _as_folder(name, sub)
        js = tmp_path / f"{sub.name}.json"
        t = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "grader.cli", "check", str(sub), "-a", "activations",
                               "--device", "cpu", "--json", str(js), "--no-html"],
                              cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True,
                              text=True, timeout=240)
        assert time.monotonic() - t < 240
        assert js.exists(), proc.stderr[-2000:]
        out[name] = json.loads(js.read_text())
    for name, data in out.items():
        text = json.dumps(data)
        assert '"softmax"' in text, name
        cases = [c for a in data.get("assignments", []) for c in a.get("cases", []) if c.get("function") == "softmax"]
        assert cases and all((c.get("score") or 0) == 0 for c in cases), (name, cases[:1])


def test_corrupting_the_result_channel_distrusts_the_whole_process(worker):
    """Protocol v2: after a corrupt frame no result of that process is trusted (banned, for review)."""
    softmax, a, _ = _grade(worker, "corrupt_result_pipe.py", others_pass=False)
    assert softmax[0].status == "banned"
    assert "corrupted the grader's result channel" in softmax[0].message
    assert all(c.score == 0 for c in softmax)


def test_infinite_loop_costs_one_timeout_not_one_per_case(worker):
    softmax, _, elapsed = _grade(worker, "infinite_loop.py")
    assert [c.status for c in softmax] == ["timeout"] * len(softmax)
    assert all("not run after an earlier timeout" in c.message for c in softmax[1:])
    # (The messages above prove one run; the bound below only catches a retry per case, 18 x the
    # limit, with room for a loaded machine: the CPU limit stretches with the run queue.)
    assert elapsed < 60, f"{len(softmax)} cases took {elapsed:.1f} s: the loop was retried"


def test_memory_creep_is_stopped(worker):
    softmax, _, _ = _grade(worker, "memory_creep.py", case_seconds=20.0)
    assert softmax[0].status == "error"
    assert "memory" in softmax[0].message
    assert all("not run after an earlier" in c.message for c in softmax[1:])


def test_print_flood_is_truncated_and_counted(worker):
    softmax, a, _ = _grade(worker, "print_flood.py", case_seconds=10.0)
    assert all(c.status == "passed" for c in softmax)  # printing is not wrong, only noisy
    text = "\n".join(t for f, t in a.output if "softmax" in f)
    assert "[grade: your code printed" in text and "kept the first 1 MB" in text
    assert len(text) < 10_000  # the report keeps an excerpt


def test_kill_parent_is_refused_and_flagged(worker):
    softmax, _, _ = _grade(worker, "kill_parent.py")
    assert all(c.status == "passed" for c in softmax)
    assert any("not allowed to call os.kill" in v for v in softmax[0].violations)
    assert os.getpid() and worker.alive


def test_fork_children_is_refused(worker):
    """os.fork, multiprocessing (os.fork underneath) and pty.fork are all refused; _grade checks that
    no process of the submission outlived its job. (The forked children would only sleep in Python:
    their command line is the grader's, so there is no "sleep 60" to look for on the machine.)"""
    softmax, _, _ = _grade(worker, "fork_children.py")
    assert any("call os.fork" in v for v in softmax[0].violations)
    assert any("call os.forkpty" in v for v in softmax[0].violations)


def test_new_threads_are_refused_and_nothing_lingers(worker):
    """A thread would run beyond the guard's watch (issue 9): the sandbox refuses to start one."""
    softmax, _, _ = _grade(worker, "lingering_thread.py", case_seconds=2.0)
    assert softmax[0].status == "error"
    assert "not allowed to start a thread" in softmax[0].message


def test_exit_at_import_costs_only_that_module(worker):
    r = check(HOSTILE / "exit_at_import", assignments=("activations", "cross_entropy"), device="cpu",
              worker=worker, catalog=CATALOG, options=Options(case_seconds=1.0))
    act, ce = r.assignment("activations"), r.assignment("cross_entropy")
    assert {c.status for c in act.cases} == {"error"}
    assert "while importing your module" in act.cases[0].message
    assert "exited with code 3" in act.cases[0].message
    assert ce.status == "passed"


def test_syntax_error_is_reported_with_its_line(worker):
    r = check(HOSTILE / "syntax_error", assignments=("activations", "cross_entropy"), device="cpu",
              worker=worker, catalog=CATALOG)
    act = r.assignment("activations")
    assert act.status == "error" and "line 3" in act.message and "SyntaxError" in act.message
    assert r.assignment("cross_entropy").status == "passed"


def test_missing_module_is_reported(worker, tmp_path):
    (tmp_path / "cross_entropy.py").write_text((ROOT / "tests/submissions/correct/cross_entropy/lse_onehot.py").read_text())
    r = check(tmp_path, assignments=("activations", "cross_entropy"), device="cpu", worker=worker, catalog=CATALOG)
    assert r.assignment("activations").status == "missing"
    assert "activations.py" in r.assignment("activations").message
    assert r.assignment("cross_entropy").status == "passed"


def test_worker_survives_sigkill_of_a_child_and_of_itself(tmp_path):
    w = Worker(start="spawn").start()
    try:
        pid = w._pid
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
        assert not w.alive
        # The next job restarts the worker instead of hanging or crashing.
        r = check(_as_folder("kill_parent.py", tmp_path), assignments=("activations",), device="cpu", worker=w,
                  catalog=CATALOG)
        assert r.assignment("activations").status == "passed"
        assert w.alive and w._pid != pid
    finally:
        w.close()


def test_single_file_submission_cannot_read_its_neighbours(worker, tmp_path):
    """In a batch, a single .py sits beside other students' files: it may read only itself."""
    (tmp_path / "other_student.py").write_text("SECRET = 42\n")
    (tmp_path / "me.py").write_text(
        "import torch\n"
        "def sigmoid(x):\n"
        "    open(__file__).read()  # its own file: fine\n"
        "    open(__file__.replace('me.py', 'other_student.py')).read()\n"
        "    return 1 / (1 + torch.exp(-x))\n")
    r = check(tmp_path / "me.py", assignments=("activations",), device="cpu", worker=worker, catalog=CATALOG)
    sig = [c for c in r.cases() if c.function == "sigmoid"]
    assert sig[0].status == "error" and "other_student.py" in sig[0].message


def test_submission_time_budget_skips_the_rest(worker):
    r = check(ROOT / "reference", assignments=("activations",), device="cpu", worker=worker, catalog=CATALOG,
              options=Options(submission_seconds=0.0))
    assert {c.status for c in r.cases()} == {"skipped"}
    assert "total time limit" in r.assignment("activations").cases[0].message


def test_too_many_open_files_is_an_error(worker, tmp_path):
    (tmp_path / "activations.py").write_text(
        "import torch\n"
        "def sigmoid(x):\n"
        "    hold = [open(__file__) for _ in range(10_000)]\n"
        "    return 1 / (1 + torch.exp(-x))\n")
    r = check(tmp_path, assignments=("activations",), device="cpu", worker=worker, catalog=CATALOG)
    sig = [c for c in r.cases() if c.function == "sigmoid"]
    assert sig[0].status == "error" and "Too many open files" in sig[0].message


def test_protection_is_real_without_confinement_the_attack_works(worker):
    """Guards the guard: with confinement off, the same file reads the reference (so the test above
    fails if the protection is removed)."""
    softmax, _, _ = _grade(worker, "read_reference.py", confine=False)
    assert softmax[0].status == "passed"
