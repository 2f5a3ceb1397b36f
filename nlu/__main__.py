"""CLI: python -m nlu parse|train|evaluate (see CONTRACTS §2)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path

from nlu.trainingdata import DEFAULT_DATA_DIR


def default_model_dir() -> Path:
    return Path(os.environ.get("DATA_DIR", "var")) / "models"


def iso_date(value: str) -> dt.date:
    """argparse type for --today: a real calendar date, else a usage error (exit code 2)."""
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date in the form YYYY-MM-DD: {value!r}") from None


def _cmd_parse(args: argparse.Namespace) -> int:
    from nlu.engine import load_or_train

    engine = load_or_train(Path(args.model_dir), Path(args.data_dir))
    today = args.today
    texts = args.text if args.text else (line.rstrip("\r\n") for line in sys.stdin)
    for text in texts:
        print(json.dumps(engine.parse(text, today=today), ensure_ascii=False), flush=True)
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from nlu.engine import NLUEngine
    from nlu.english import EnglishEngine

    engine = NLUEngine.train(Path(args.data_dir))
    engine.save(Path(args.model_dir))
    print(f"model saved to {args.model_dir} (fallback threshold {engine.threshold:.2f})")
    english_data = Path(args.data_dir) / "en"
    if any(english_data.glob("*.yml")):  # the English model beside it (CONTRACTS §9)
        EnglishEngine.train(english_data).save(Path(args.model_dir) / "en")
        print(f"English model saved to {Path(args.model_dir) / 'en'}")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from nlu import evaluate

    report = evaluate.run(Path(args.data_dir), args.folds)
    print(evaluate.format_report(report))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m nlu", description="madoguchi Japanese NLU")
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", default=str(DEFAULT_DATA_DIR), help="Rasa NLU YAML directory")
    p = sub.add_parser("parse", parents=[common], help="parse texts (arguments or stdin lines)")
    p.add_argument("--today", type=iso_date, help="reference date YYYY-MM-DD (default: today in Asia/Tokyo)")
    p.add_argument("--model-dir", default=str(default_model_dir()))
    p.add_argument("text", nargs="*")
    p.set_defaults(func=_cmd_parse)
    t = sub.add_parser("train", parents=[common], help="train and save the model")
    t.add_argument("--model-dir", default=str(default_model_dir()))
    t.set_defaults(func=_cmd_train)
    e = sub.add_parser("evaluate", parents=[common], help="cross-validated intent evaluation")
    e.add_argument("--folds", type=int, default=5)
    e.set_defaults(func=_cmd_evaluate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
