"""The ``wganlab`` commands that list: ``presets`` (grouped, where to start first), ``parts`` (every registered
name) and ``check`` (a run's checkpoints, and which one ``--resume`` would use)."""

from __future__ import annotations

import argparse

from wganlab.errors import EXIT_FAILED
from wganlab.registry import REGISTRIES


def check_command(args: argparse.Namespace) -> int:
    from wganlab.rundir.checkpoints import (
        CHECKPOINT_DIR,
        best_checkpoint_path,
        human_size,
        inspect_checkpoint,
        list_checkpoints,
    )
    from wganlab.rundir.layout import require_run_dir

    run_dir = args.run_dir
    require_run_dir(run_dir)
    reports = [inspect_checkpoint(path) for _, path in list_checkpoints(run_dir)]
    extra = [best_checkpoint_path(run_dir), *sorted((run_dir / CHECKPOINT_DIR).glob("*.damaged"))]
    others = [inspect_checkpoint(path) for path in extra if path.is_file()]
    print(f"checkpoints of {run_dir} (oldest first):")
    print(f"  {'file':<26} {'step':>8} {'size':>10}  {'checksum':<12} weights")
    for report in [*reports, *others]:
        step = "?" if report.step is None else str(report.step)
        print(f"  {report.path.name:<26} {step:>8} {human_size(report.size):>10}  {report.checksum:<12} "
              f"{report.weights}" + (f"  ({report.problem})" if report.problem else ""))
    if not reports:
        print("no checkpoint yet: '--resume' starts the run from step 0")
        return 0
    newest = reports[-1]
    if newest.ok:
        print(f"newest (step {newest.step}) is good: '--resume' continues from it")
        return 0
    good = [r for r in reports if r.ok]
    fallback = f"'--resume' would use step {good[-1].step}" if good else "no checkpoint is good"
    print(f"newest ({newest.path.name}) is bad: {fallback}")
    return EXIT_FAILED


PRESET_GROUPS = (  # (heading, its presets in order, or a test of the name): a new user starts with the first
    ("Start here: the GAN, DCGAN and the three WGANs on the same networks, sized for a good sample in minutes, "
     "settings tuned by one search on MNIST; in one 10-minute run each, gan and wgan-wc ended behind the earlier "
     "settings their files name (docs/performance.md)", ("gan", "dcgan", "wgan-wc", "wgan-gp", "wgan-sn")),
    ("Other losses and penalties on the same networks, tuned by the same search",
     ("lsgan", "hinge-sn", "dragan", "rpgan-r1r2")),
    ("The source studies' and papers' exact settings (hours on a CPU: the studies' budgets)",
     lambda name: name.startswith(("dtu-", "guide-", "gulrajani-", "arjovsky-"))),
    ("ResNet baselines and anything else (hours per run on a GPU)", lambda name: True),
)


def presets_command(args: argparse.Namespace) -> int:
    from wganlab.config import available_presets

    presets = available_presets()
    width = max(len(name) for name in presets)
    shown: list[str] = []
    for heading, members in PRESET_GROUPS:
        names = [n for n in members if n in presets] if isinstance(members, tuple) else \
            [n for n in presets if members(n)]
        names = [n for n in names if n not in shown]
        if names:
            print(f"{chr(10) if shown else ''}# {heading}")
            print("\n".join(f"{name:<{width}}  {presets[name]}" for name in names))
            shown += names
    return 0


def parts_command(args: argparse.Namespace) -> int:
    for registry in REGISTRIES:
        print(f"{registry.kind}s:")
        width = max(len(part.name) for part in registry)
        for part in registry:
            can = f" [{', '.join(sorted(part.capabilities))}]" if part.capabilities else ""
            print(f"  {part.name:<{width}}  {part.summary}{can}")
    return 0
