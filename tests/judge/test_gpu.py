"""The CUDA path: every case runs on CPU and CUDA; a case earns its points only if it
passes on both, and CUDA results that differ from CPU are reported as device parity.

These tests need CUDA and skip with that reason on machines without it (CI has no GPU).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from grader.api import check
from grader.judge.engine import resolve_devices

ROOT = Path(__file__).resolve().parents[2]
HAS_CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not HAS_CUDA, reason="CUDA is not available on this machine (torch.cuda.is_available() "
                                                      "is False); the CPU path is tested everywhere else")


def test_auto_devices_match_the_machine():
    assert resolve_devices("auto") == (("cpu", "cuda") if HAS_CUDA else ("cpu",))
    assert resolve_devices("cpu") == ("cpu",)


@pytest.mark.skipif(HAS_CUDA, reason="this machine has CUDA; the refusal is tested on CPU-only machines")
def test_cuda_requested_without_cuda_is_a_usage_error():
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_devices("cuda")


@needs_cuda
@pytest.mark.gpu
def test_reference_gets_full_marks_on_cpu_and_cuda():
    r = check(ROOT / "reference", device="cuda")
    assert r.devices == ("cpu", "cuda")
    bad = [f"{c.key}: {c.message[:200]}" for c in r.cases() if not c.passed]
    assert not bad, "\n".join(bad)
    assert all(len(c.runs) == 2 and {x.device for x in c.runs} == {"cpu", "cuda"} for c in r.cases())


@needs_cuda
@pytest.mark.gpu
def test_max_score_does_not_depend_on_the_machine():
    cpu = check(ROOT / "reference", device="cpu")
    both = check(ROOT / "reference", device="cuda")
    assert cpu.max_score == both.max_score and both.score == both.max_score


@needs_cuda
@pytest.mark.gpu
def test_output_left_on_cpu_fails_the_cuda_run(tmp_path):
    (tmp_path / "activations.py").write_text(
        (ROOT / "tests/submissions/correct/activations/tanh_einsum.py").read_text()
        + "\n_orig_sigmoid = sigmoid\n\ndef sigmoid(x):\n    return _orig_sigmoid(x).cpu()\n")
    r = check(tmp_path, assignments=("activations",), device="cuda")
    sig = [c for c in r.cases() if c.function == "sigmoid"]
    assert all(c.status == "failed" for c in sig)
    assert "expected the tensor on cuda" in sig[0].message
    assert [x.status for x in sig[0].runs] == ["passed", "failed"]


@needs_cuda
@pytest.mark.gpu
def test_buggy_submission_gets_the_same_diagnosis_on_cuda():
    path = ROOT / "tests/submissions/buggy/activations/softmax_no_max_shift.py"
    r = check(path, assignments=("activations",), device="cuda")
    assert "softmax_no_max_shift" in {c.diagnosis.id for c in r.cases() if c.diagnosis}
