"""The ``wganlab`` commands that run and read studies: ``study``, ``report``, ``reproduce`` and ``classifier`` (the
feature network a study's metrics use). Each imports what it needs when it runs, so the CLI starts fast."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wganlab.errors import EXIT_FAILED, ConfigError


def study_command(args: argparse.Namespace) -> int:
    from wganlab.study.report import build_report
    from wganlab.study.runner import default_out, run_study
    from wganlab.study.spec import load_study

    if args.workers is not None and args.workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {args.workers}")
    study = load_study(args.file, args.scale)
    if args.list:
        for spec in study.runs:
            print(f"{spec.name}\t{spec.command()}")
        return 0
    out = args.out or default_out(study)
    try:
        outcome = run_study(study, out, backend=args.backend, workers=args.workers, address=args.address,
                            stack_seeds=args.stack_seeds, rerun_changed=args.rerun_changed)
    except KeyboardInterrupt:  # the Ctrl-C reached this process's wait
        print(f"wganlab: interrupted; {resume_hint_command(out)}", file=sys.stderr)
        return 130
    from wganlab.study.layout import MANIFEST_FILE

    report = build_report(out) if (out / MANIFEST_FILE).is_file() else None  # a search's trials may be all there is
    searched = f" (and {outcome['trials']} search trials)" if "trials" in outcome else ""
    print(f"{outcome['runs']} runs{searched}: {outcome['skipped']} skipped as finished, {outcome['ran']} run, "
          f"{len(outcome['failed'])} failed, {outcome['interrupted']} interrupted")
    for name, error in outcome["failed"].items():
        print(f"  failed: {name}: {error}")
    for name, error in outcome.get("failed_trials", {}).items():
        print(f"  failed trial (counted as the worst outcome of its search): {name}: {error}")
    if report is None:
        print(f"trials:  {out / 'trials' / 'report.html'}")
    else:
        print(f"summary: {out / 'summary.md'}")
        print(f"report:  {report}")
    if outcome["interrupted"]:  # the signal reached only the runs, which returned: the study is not finished
        print(f"wganlab: interrupted; {resume_hint_command(out)}", file=sys.stderr)
        return 130
    return EXIT_FAILED if outcome["failed"] else 0


def resume_hint_command(out: Path) -> str:
    return (f"the running runs saved a checkpoint: run the same command again to resume (finished runs are kept "
            f"in {out})")


def report_command(args: argparse.Namespace) -> int:
    from wganlab.study.report import build_report

    print(build_report(args.study_dir))
    return 0


def reproduce_command(args: argparse.Namespace) -> int:
    from wganlab.study.reproduction import reproduce

    out, rows = reproduce(args.out, args.root)
    for row in rows:
        print(f"{row.verdict:>13}  {row.source}: {row.claim}")
    print(out)
    return 0


def classifier_command(args: argparse.Namespace) -> int:
    import json

    from wganlab.metrics import classifier

    name, _, root = args.data.partition(":")
    classifier.weights_name(name)
    out = args.out or Path(classifier.__file__).parent / "weights"
    record = classifier.train_and_save(name, root or None, out, epochs=args.epochs, seed=args.seed)
    print(json.dumps(record, indent=2))
    return 0
