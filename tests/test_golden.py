"""Golden weights: fixed-seed 200-step CPU runs whose final weights must not change when the code is refactored.

The step is being recomposed from named parts (hooks, registries); these six runs — the five variants and a
conditional model with two tricks — pin what it computes today, bit for bit. Float rounding differs between CPU
instruction sets and torch builds, so the file keeps one record per machine fingerprint (CPU model, torch's CPU
capability such as AVX2 or AVX512, torch version) and compares against this machine's; a machine with no record
says so and skips. ``python -m tests.test_golden`` records this machine's, keeping the others — only on a
commit whose hashes still match every machine that has one, or the records would pin different code; with
``--reset`` it keeps this machine's alone, for a deliberate change of what the step computes.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from pathlib import Path

import pytest
import torch

from wganlab.config import load_config
from wganlab.machine import describe_machine
from wganlab.training.start import start_run

RECORD = Path(__file__).parent / "golden" / "weights.json"
BASE = ["data=mnist", "model.width=4", "batch_size=8", "steps=200", "seed=0", "log_every=50", "eval_every=0",
        "sample_every=1000", "checkpoint_every=1000", "threads=1"]
# The presets' optimizers and critic steps as they were when these were recorded (the preset search re-chose
# some since): the hashes pin what the code computes, not which settings a preset holds.
ADAM_2E4 = ["critic_steps=1", "g_optimizer.lr=2e-4", "d_optimizer.lr=2e-4", "g_optimizer.betas=[0.5,0.999]",
            "d_optimizer.betas=[0.5,0.999]"]
RUNS = {
    "gan": ("gan", ADAM_2E4),
    "dcgan": ("dcgan", ADAM_2E4),
    "wgan-wc": ("wgan-wc", ["critic_burst_steps=10", "critic_steps=5", "lipschitz.clip=0.01", "g_optimizer.lr=5e-5",
                            "d_optimizer.lr=5e-5", "g_optimizer.betas=[0.5,0.999]", "d_optimizer.betas=[0.5,0.999]"]),
    "wgan-gp": ("wgan-gp", []),
    "wgan-sn": ("wgan-sn", ["critic_steps=2", "g_optimizer.lr=5e-4", "d_optimizer.lr=5e-4"]),
    "cdcgan-smoothing-pool": ("dcgan", [*ADAM_2E4, "conditioning.mode=projection", "tricks.labels.real=0.9",
                                        "tricks.replay.mode=pool", "tricks.replay.pool_size=16"]),
}


def fingerprint() -> dict[str, str]:
    """What decides the float rounding of a CPU run: torch's build, the CPU and the instruction set it uses."""
    machine = describe_machine("cpu")
    return {"torch": machine["torch"], "cpu": machine["cpu"], "capability": machine["cpu_capability"]}


def weights_hash(name: str) -> str:
    preset, extra = RUNS[name]
    with tempfile.TemporaryDirectory() as tmp:
        trainer = start_run(load_config(preset, [*BASE, *extra]), Path(tmp) / name, tensorboard=False)
        trainer.run(progress=False)
        digest = hashlib.sha256()
        for network in (trainer.generator, trainer.discriminator):
            for key, tensor in network.state_dict().items():
                digest.update(key.encode())
                digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def records() -> list[dict]:
    """Every machine's record: ``{"fingerprint": {...}, "runs": {name: sha256}}``."""
    return json.loads(RECORD.read_text(encoding="utf-8"))["records"]


@pytest.mark.parametrize("name", sorted(RUNS))
def test_a_fixed_seed_run_ends_with_the_recorded_weights(name):
    here = fingerprint()
    mine = [record for record in records() if record["fingerprint"] == here]
    if not mine:
        pytest.skip(f"golden weights were recorded on {[r['fingerprint'] for r in records()]}, this is {here}")
    before = torch.get_num_threads()
    try:
        assert weights_hash(name) == mine[0]["runs"][name]
    finally:
        torch.set_num_threads(before)


def test_each_machine_has_one_record_of_every_run():
    fingerprints = [json.dumps(record["fingerprint"], sort_keys=True) for record in records()]
    assert len(fingerprints) == len(set(fingerprints))
    assert all(sorted(record["runs"]) == sorted(RUNS) for record in records())
    # a key added to fingerprint() would make every record a stranger, and every golden test skip everywhere
    assert all(set(record["fingerprint"]) == set(fingerprint()) for record in records())


if __name__ == "__main__":
    # --reset: after a deliberate change of what the step computes, this machine's record alone (the others'
    # hashes pin the old computation; record them again on their machines)
    torch.set_num_threads(1)
    RECORD.parent.mkdir(exist_ok=True)
    here = fingerprint()
    kept = records() if RECORD.exists() and "--reset" not in sys.argv[1:] else []
    mine = {"fingerprint": here, "runs": {name: weights_hash(name) for name in sorted(RUNS)}}
    kept = ([mine if record["fingerprint"] == here else record for record in kept]
            if any(record["fingerprint"] == here for record in kept) else [*kept, mine])
    RECORD.write_text(json.dumps({"records": kept}, indent=2) + "\n", encoding="utf-8")
    print(f"recorded {len(RUNS)} runs for {here} in {RECORD} ({len(kept) - 1} other machines kept)", file=sys.stderr)
