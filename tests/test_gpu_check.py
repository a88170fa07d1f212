"""The prepared GPU check, run on the CPU: every check and benchmark it holds must work before a GPU session."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import REPO


def test_the_gpu_check_runs_its_plumbing_on_the_cpu_and_every_check_passes(tmp_path):
    out = tmp_path / "gpu-check.json"
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "gpu_check.py"), "--device", "cpu", "--out",
                           str(out)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report == json.loads(done.stdout) and report["passed"] is True
    assert set(report["checks"]) == {"bf16_matches_fp32", "fused_adam_equals_foreach", "compile_trains_like_eager",
                                     "deterministic_resume_is_bit_identical", "one_process_group",
                                     "stacked_seeds_match_separate"}
    assert all(check["passed"] is True for check in report["checks"].values()), report["checks"]
    assert report["checks"]["one_process_group"]["backend"] == "gloo"
    assert set(report["checks"]["stacked_seeds_match_separate"]["max_rel_diff"]) == {
        f"{preset} {role}" for preset in ("dtu-wgan-gp", "wgan-sn") for role in ("generator", "discriminator")}
    throughput = report["throughput"]["result"]["results"][0]
    assert throughput["preset"] == "wgan-gp" and throughput["wganlab"]["images_per_s"] > 0
    points = report["time_to_fid"]["result"][0]["points"]
    assert points and points[0]["fid"] > 0
