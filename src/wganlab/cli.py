"""``wganlab`` command line: train, sample, export, eval, study, report, data, classifier, presets.

Every user mistake ends as one line on stderr and exit code 2; tracebacks are left for wganlab's own bugs.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from wganlab.cli_listings import check_command, parts_command, presets_command
from wganlab.cli_studies import classifier_command, report_command, reproduce_command, study_command
from wganlab.errors import EXIT_FAILED, EXIT_USAGE, ConfigError, WganlabError
from wganlab.registry import METRICS

if TYPE_CHECKING:
    from wganlab.training.distributed import Distributed



class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like every other input error
        self.exit(EXIT_USAGE, f"wganlab: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="wganlab", description="Train GANs and Wasserstein GANs from one config, and sample them.")
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)

    train = commands.add_parser("train", help="train a preset or YAML config", description=(
        "Train a GAN. PRESET_OR_YAML is a preset name (see 'wganlab presets') or a YAML file; key=value and "
        "section.key=value override it, e.g. data=8gaussians steps=2000 lipschitz.clip=0.02."))
    train.add_argument("config", nargs="?", metavar="PRESET_OR_YAML")
    train.add_argument("overrides", nargs="*", metavar="key=value")
    train.add_argument("--run-dir", type=Path, help="where the run is written (default runs/<preset>-<data>-...)")
    train.add_argument("--resume", type=Path, metavar="RUN_DIR",
                       help="continue a run from its newest checkpoint; key=value may change how it executes "
                       "(steps, threads, device, precision, compile, channels_last and the log, sample, "
                       "checkpoint and eval intervals), not what it trains; when steps moves the end of a linear "
                       "learning-rate decay it is replanned for the new end (said in one line), or "
                       "lr_extend=stretch decays on from the rate reached, lr_extend=restart from the full rate")
    train.add_argument("--quiet", action="store_true", help="no progress bar")

    sample = commands.add_parser("sample", help="generate samples from a run or an exported generator",
                                 description=(
        "Generate samples from SOURCE: a run directory (its newest checkpoint, EMA weights when kept), one of its "
        ".pt checkpoints, or a generator written by 'wganlab export'. The same --seed gives the same samples. "
        ".npz holds uint8 'images' N x C x H x W, or float32 'points' N x D for 2D toys and tables; a run on a "
        "feature table also writes .csv, in the table's columns and units (with its class column when "
        "conditional)."))
    sample.add_argument("run_dir", type=Path, metavar="SOURCE")
    sample.add_argument("--n", type=int, default=64, help="number of samples (default 64)")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--out", type=Path, required=True, metavar="FILE.npz|FILE.png|FILE.csv")
    sample.add_argument("--device", default="cpu")
    sample.add_argument("--class", dest="label", type=int, metavar="K",
                        help="a conditional run's class to generate (default: every class in turn; a PNG then "
                        "has one row per class)")

    export = commands.add_parser("export", help="write a run's generator to one safetensors file", description=(
        "Write the generator (EMA weights when kept) and the config needed to rebuild it into one .safetensors "
        "file that 'wganlab sample' reads without the run directory or the training data."))
    export.add_argument("run_dir", type=Path, metavar="RUN_DIR_OR_CHECKPOINT")
    export.add_argument("--out", type=Path, required=True, metavar="G.safetensors")

    data = commands.add_parser("data", help="download datasets and list what is present")
    data_commands = data.add_subparsers(dest="data_command", parser_class=_Parser, required=True)
    fetch = data_commands.add_parser("download", help="download a dataset (checksummed, resumable)")
    fetch.add_argument("name", metavar="NAME", help="mnist, fashion-mnist, cifar10 or cifar100")
    fetch.add_argument("--root", type=Path, help="download folder (default $WGANLAB_DATA or ~/.cache/wganlab/data)")
    fetch.add_argument("--mirror", help="base URL that replaces the official one (also $WGANLAB_MIRROR)")
    listing = data_commands.add_parser("list", help="the known datasets and whether they are present")
    listing.add_argument("--root", type=Path)

    evaluate = commands.add_parser("eval", help="measure samples against a dataset (FID, KID, IS, PR, modes)",
                                   description=(
        "Evaluate SOURCE (a run directory, checkpoint or exported generator, whose samples are drawn; or a "
        ".npz of uint8 'images' or float32 'points') against --data (default: the run's own). Image metrics use "
        "wganlab's MNIST / Fashion-MNIST feature network for 28x28 data and Inception-V3 (torch-fidelity) for the "
        "rest; reference features are cached on disk."))
    evaluate.add_argument("source", type=Path, metavar="RUN_DIR|SAMPLES.npz")
    evaluate.add_argument("data_options", nargs="*", metavar="data.KEY=VALUE",
                          help="the reference data's settings, as train takes them (data.image_size=28, "
                               "data.grayscale=true, ...)")
    evaluate.add_argument("--data", help="reference dataset, as in data=... (required for .npz)")
    evaluate.add_argument("--metrics", help=f"comma-separated: {','.join(METRICS.having('images'))} for images; "
                          f"{','.join(METRICS.having('points'))} for 2D toys (default: all that apply to the data; one "
                          "asked for that does not is an error; 'wganlab parts' says what each measures)")
    evaluate.add_argument("--n", type=int, default=10_000, help="generated samples (default 10000)")
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument("--features", choices=("mnist", "fashion-mnist", "inception"),
                          help="feature network (default: wganlab's own for 28x28 data, else inception)")
    evaluate.add_argument("--inception-weights", type=Path, metavar="PATH",
                          help="local Inception-V3 weights (also $WGANLAB_INCEPTION_WEIGHTS)")
    evaluate.add_argument("--json", action="store_true", help="print JSON instead of a table")

    augment = commands.add_parser("augment", help="does a conditional run's generated data help a classifier?",
                                  description=(
        "Train one fixed classifier recipe (an MLP for table rows, a small CNN for images) on the run's real "
        "training rows, on as many generated rows (GAN-train), and on real plus generated rows at each --ratios; "
        "test each on the same held-out real rows; and test the real-data classifier on generated rows "
        "(GAN-test). Mean and 95%% interval over --seeds. Writes augment.json and augment.png into --out."))
    augment.add_argument("run_dir", metavar="RUN_DIR|PRESET_OR_YAML",
                         help="a finished conditional run, or a preset or YAML file to train first (with key=value "
                         "overrides, e.g. wgan-gp data=mnist data.per_class=100 conditioning.mode=projection)")
    augment.add_argument("overrides", nargs="*", metavar="key=value")
    augment.add_argument("--run-dir", type=Path, dest="train_dir",
                         help="where a preset's run is written (default runs/<preset>-<data>-...)")
    augment.add_argument("--quiet", action="store_true", help="no progress bar while a preset trains")
    augment.add_argument("--seeds", type=int, default=5, help="classifier seeds (default 5)")
    augment.add_argument("--ratios", default="0.5,1,2,4", help="generated rows per real row (default 0.5,1,2,4)")
    augment.add_argument("--out", type=Path, help="folder for the results (default RUN_DIR/augment)")

    classifier = commands.add_parser("classifier", help="train the feature network used for MNIST-like metrics")
    classifier_commands = classifier.add_subparsers(dest="classifier_command", parser_class=_Parser, required=True)
    fit = classifier_commands.add_parser("train", help="train and save the classifier of a 28x28 dataset")
    fit.add_argument("--data", required=True, metavar="mnist|fashion-mnist[:DIR]")
    fit.add_argument("--epochs", type=int, default=8)
    fit.add_argument("--seed", type=int, default=0)
    fit.add_argument("--out", type=Path, help="folder for NAME.pt and NAME.json (default: the package's own)")

    study = commands.add_parser("study", help="run a grid of variants x datasets x seeds and write its report",
                                description=(
        f"Run every run of a study (a YAML file, or a shipped study: {', '.join(_shipped_studies())}), skipping "
        "finished runs and resuming interrupted ones, then aggregate over seeds (mean ± 95% t-interval) and write "
        "OUT/report.html, summary.csv and summary.md."))
    study.add_argument("file", metavar="STUDY_OR_YAML")
    study.add_argument("--out", type=Path, help="study directory (default runs/studies/NAME-SCALE)")
    study.add_argument("--scale", default="full", help="a scale the study defines, e.g. quick (default full)")
    study.add_argument("--backend", choices=("local", "ray"), default="local")
    study.add_argument("--workers", type=int, help="runs at once (default: one per core, or per GPU)")
    study.add_argument("--address", help="Ray cluster: auto or HOST:PORT (default: start Ray on this machine)")
    study.add_argument("--list", action="store_true", help="print the runs and their commands, run nothing")
    study.add_argument("--stack-seeds", action=argparse.BooleanOptionalAction, default=None,
                       help="train the runs of a variant that differ only in their seed as one stacked model "
                            "(pays on GPUs, not on CPUs; default: the study file's stack_seeds)")
    study.add_argument("--rerun-changed", action="store_true",
                       help="retrain runs whose saved config differs from what the study now asks (they are "
                            "moved to OUT/replaced/); without it such a study is refused")

    report = commands.add_parser("report", help="rebuild a study's report.html and summary tables")
    report.add_argument("study_dir", type=Path, metavar="STUDY_DIR")

    reproduce = commands.add_parser("reproduce", help="write docs/reproduction.md: each source claim re-measured",
                                    description=("Judge each claim of the source studies (src/wganlab/study/"
                                                 "claims.yaml) against the shipped studies' outputs and write the "
                                                 "page: measured mean ± 95% interval, seeds, CPU time, verdict."))
    reproduce.add_argument("--root", type=Path, default=Path("runs/studies"),
                           help="where 'wganlab study' wrote the studies (default runs/studies; the demo: runs/demo)")
    reproduce.add_argument("--out", type=Path, default=Path("docs/reproduction.md"))

    commands.add_parser("presets", help="list the presets with one line each")
    commands.add_parser("parts", help="list the objectives, architectures, hooks and metrics a config can name",
                        description="Every registered part, with its source and what it can do: what a config's "
                                    "objective and model.arch accept, the hooks (tricks and Lipschitz methods) "
                                    "its sections switch on, and the metrics 'wganlab eval --metrics' takes.")

    check = commands.add_parser("check", help="verify a run's checkpoints (checksum, readable, finite weights)",
                                description=(
        "List every checkpoint of RUN_DIR with its step, size, whether its SHA-256 matches the one recorded when "
        "it was written, and whether its weights are finite. Exits 1 when the newest checkpoint (the one "
        "'--resume' would use) is bad, 0 otherwise."))
    check.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # key=value overrides may follow options such as --run-dir; anything else is a mistake
        takes = {"train": "overrides", "eval": "data_options"}.get(args.command)
        unknown = [item for item in extra if item.startswith("-") or "=" not in item or takes is None]
        if unknown:
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
        setattr(args, takes, [*getattr(args, takes), *extra])
    if args.command is None:
        parser.print_help()
        return 0
    try:
        handlers = {"train": _train, "sample": _sample, "export": _export, "data": _data, "eval": _eval,
                    "augment": _augment,
                    "study": study_command, "report": report_command, "reproduce": reproduce_command,
                    "classifier": classifier_command, "presets": presets_command, "parts": parts_command,
                    "check": check_command}
        code = handlers[args.command](args)
        sys.stdout.flush()  # here, where a closed pipe is caught, not at exit
        return code
    except BrokenPipeError:  # `wganlab presets | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so that exit's flush finds no pipe
        return 0
    except WganlabError as err:
        from wganlab.training.trainer import TrainingDiverged

        print(f"wganlab: error: {err}", file=sys.stderr)
        return EXIT_FAILED if isinstance(err, TrainingDiverged) else EXIT_USAGE
    except OSError as err:  # an unwritable --out or --run-dir, a path that is a file...: the user's to fix
        where = f": '{err.filename}'" if err.filename else ""
        print(f"wganlab: error: {err.strerror or err}{where}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("wganlab: interrupted", file=sys.stderr)
        return 130


def _train(args: argparse.Namespace) -> int:
    """``wganlab train``; under ``torchrun --nproc_per_node N -m wganlab train ...`` every process runs this."""
    from wganlab.training.distributed import from_environment, shutdown
    from wganlab.training.signals import stop_requests

    group = from_environment()
    try:
        code = _train_in(args, group)
        # torchrun forwards the terminal's SIGINT once more: here, as in training, it must not end one process
        # while the others wait for it
        with stop_requests(second_sigint_aborts=False):
            group.barrier()  # leave the group together, not while rank 0 still writes its final plots
    finally:
        shutdown()
    if group.enabled:
        _leave_worker(code)
    return code


def _leave_worker(code: int) -> None:
    """End a torchrun worker now that its work is saved and its process group destroyed.

    Gloo's threads can still hold tensors while the interpreter finalizes, which occasionally aborts a worker
    with SIGABRT ("terminate called without an active exception") after a run that finished and saved
    (pytorch/pytorch#179291); torchrun then reports the whole job as failed. Everything is written and closed
    by now, so the worker skips the interpreter's teardown.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _train_in(args: argparse.Namespace, group: Distributed) -> int:
    from wganlab.config import load_config, parse_override
    from wganlab.rundir.layout import default_run_dir
    from wganlab.training.start import resume_run, start_run

    say = (lambda text: print(text, file=sys.stderr)) if group.is_main else (lambda text: None)
    if args.resume is not None:
        if args.config is not None and "=" not in args.config:
            raise ConfigError(f"--resume continues the run's own config, so '{args.config}' cannot be given; "
                              "start a new run to train another preset or file")
        extra = ([args.config] if args.config else []) + list(args.overrides)
        trainer = resume_run(args.resume, settings=dict(parse_override(item) for item in extra))
        say(f"resuming {trainer.run_dir} at step {trainer.step} of {trainer.config.steps}")
    else:
        if args.config is None:
            raise ConfigError("give a preset name or a YAML file, e.g. 'wganlab train wgan-gp data=8gaussians'")
        if "=" in args.config:
            raise ConfigError(f"the first argument must be a preset or YAML file, not the override '{args.config}'")
        config = load_config(args.config, args.overrides)
        run_dir = group.broadcast_object(args.run_dir or default_run_dir(config, args.config))  # one timestamp
        trainer = start_run(config, run_dir, source=args.config)
    say(f"run directory: {trainer.run_dir}" + (f" ({group.world} processes)" if group.enabled else ""))
    result = trainer.run(progress=not args.quiet)
    if result.interrupted:
        say(f"stopped at step {result.step}; checkpoint written. Continue with: "
            f"wganlab train --resume {result.run_dir}")
    else:
        say(f"finished {result.step} steps in {trainer.elapsed:.1f} s; samples in {result.run_dir / 'samples'}, "
            f"curves in {result.run_dir / 'loss_curves.png'}")
    if group.is_main:
        print(result.run_dir)
    return 0


def _sample(args: argparse.Namespace) -> int:
    from wganlab.sampling import class_labels, generate, load_generator, write_samples

    if args.n < 1:
        raise ConfigError(f"--n must be at least 1, got {args.n}")
    loaded = load_generator(args.run_dir, device=args.device)
    samples = generate(loaded, args.n, seed=args.seed, label=args.label)
    write_samples(samples, loaded, args.out, per_class_rows=args.label is None,
                  labels=class_labels(loaded, args.n, args.label))
    print(args.out)
    return 0


def _augment(args: argparse.Namespace) -> int:
    from wganlab.metrics.augmentation import augment_run, summary_lines

    if args.seeds < 2:
        raise ConfigError(f"--seeds must be at least 2 for an interval, got {args.seeds}")
    try:
        ratios = tuple(float(r) for r in args.ratios.split(",") if r.strip())
    except ValueError:
        raise ConfigError(f"--ratios takes numbers separated by commas, e.g. 0.5,1,2,4; got {args.ratios!r}") from None
    if not ratios or min(ratios) <= 0:
        raise ConfigError(f"--ratios must be positive numbers, got {args.ratios!r}")
    run_dir = Path(args.run_dir)
    if args.overrides or args.train_dir or not run_dir.is_dir():
        run_dir = _train_to_augment(args)
        if run_dir is None:
            return 130
    result = augment_run(run_dir, args.seeds, ratios, args.out)
    print("\n".join(summary_lines(result)))
    print(args.out or run_dir / "augment")
    return 0


def _train_to_augment(args: argparse.Namespace) -> Path | None:
    """``wganlab augment PRESET key=value ...``: check that the run could be scored, train it, return its
    directory (None if it was interrupted: its checkpoint says where to resume)."""
    from wganlab.config import load_config
    from wganlab.metrics.augmentation import check_augmentable
    from wganlab.rundir.layout import default_run_dir
    from wganlab.training.start import start_run

    target = Path(args.run_dir)
    if target.is_dir():
        raise ConfigError(f"'{target}' is a run directory, so key=value and --run-dir cannot be given; "
                          "give a preset or YAML file to train a new one")
    if (len(target.parts) > 1 or target.suffix not in ("", ".yaml", ".yml")) and not target.is_file():
        raise ConfigError(f"no run directory at '{target}' (nor a YAML file): give a finished conditional run, or "
                          "a preset to train, e.g. wganlab augment wgan-gp data=mnist data.per_class=100 "
                          "conditioning.mode=projection")
    config = load_config(args.run_dir, args.overrides)
    check_augmentable(config)
    trainer = start_run(config, args.train_dir or default_run_dir(config, args.run_dir), source=args.run_dir)
    print(f"run directory: {trainer.run_dir}", file=sys.stderr)
    result = trainer.run(progress=not args.quiet)
    if result.interrupted:
        print(f"stopped at step {result.step}; checkpoint written. Continue with: wganlab train --resume "
              f"{result.run_dir}, then wganlab augment {result.run_dir}", file=sys.stderr)
        return None
    return result.run_dir


def _export(args: argparse.Namespace) -> int:
    from wganlab.sampling import export_generator, load_generator

    print(export_generator(load_generator(args.run_dir), args.out))
    return 0


def _data(args: argparse.Namespace) -> int:
    from wganlab.data.download import MANUAL, REMOTE, download, is_present
    from wganlab.data.sources import data_home

    root = args.root or data_home()
    if args.data_command == "download":
        print(download(args.name, root, mirror=args.mirror))
        return 0
    print(f"datasets under {root}:")
    print(f"  {'mnist (embedded 10k)':<22} present   inside the package, the default data=mnist")
    for name in [*REMOTE, *MANUAL]:
        state = "present" if is_present(name, root) else "missing"
        how = f"wganlab data download {name}" if name in REMOTE else f"by hand: {MANUAL[name]}"
        print(f"  {name:<22} {state:<9} {how}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    import json

    from wganlab.api import evaluate

    asked = tuple(m.strip() for m in args.metrics.split(",")) if args.metrics else None
    result = evaluate(args.source, n=args.n, metrics=asked, seed=args.seed, data=args.data, features=args.features,
                      data_options=tuple(args.data_options), inception_weights=args.inception_weights)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        if "kid" in result:  # a table row of its own, so that every line stays "name value"
            result["kid_unit"] = f"unscaled (not x10^3): the cubic-kernel MMD² on {result.get('features')} features"
        for key, value in result.items():
            print(f"{key:<18} {value:.6g}" if isinstance(value, float) else f"{key:<18} {value}")
    return 0


def _shipped_studies() -> list[str]:
    """The shipped study files' names, read from the package folder (without importing the study code)."""
    return sorted(path.stem for path in (Path(__file__).parent / "study" / "shipped").glob("*.yaml"))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
