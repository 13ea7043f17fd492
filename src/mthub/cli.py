"""The ``mthub`` command line: ``info``, ``presets``, ``hub serve``, ``cards``, ``demo``, ``quickstart``.

Each subcommand imports what it needs when it runs, so ``mthub --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys


def _cmd_presets(args: argparse.Namespace) -> int:
    import mthub

    for name in mthub.list_presets(args.family):
        preset = mthub.get_preset(name)
        print(f"{name:40s} {preset.family:22s} {preset.description}")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    import mthub
    from mthub.info import preset_summary

    names = mthub.list_presets() if args.all else args.presets
    if not names:
        print("mthub info: name one or more presets, or pass --all", file=sys.stderr)
        return 2
    summaries = []
    for name in names:
        summary = preset_summary(name, macs=not args.no_macs)
        summaries.append(summary)
        if not args.json:
            print(summary["text"])
    if args.json:
        print(json.dumps([{k: v for k, v in s.items() if k != "text"} for s in summaries], indent=2, default=str))
    return 0


def _cmd_hub(args: argparse.Namespace) -> int:
    from mthub.hub.server import main as serve_main

    return serve_main(args.server_args) or 0


def _cmd_cards(args: argparse.Namespace) -> int:
    from mthub.hub.cards import write_model_cards

    written = write_model_cards(args.out, presets=args.presets or None)
    print(f"wrote {len(written)} model cards to {args.out}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from mthub.demo import run_demo

    return run_demo(out_dir=args.out)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mthub", description="Multi-task video and scene understanding models.")
    sub = parser.add_subparsers(dest="command", required=True)

    presets = sub.add_parser("presets", help="list presets")
    presets.add_argument("--family", default=None, help="only presets of this model_type")
    presets.set_defaults(func=_cmd_presets)

    info = sub.add_parser("info", help="tasks, input geometry, parameters and GMACs of presets (meta device)")
    info.add_argument("presets", nargs="*")
    info.add_argument("--all", action="store_true", help="every preset")
    info.add_argument("--json", action="store_true", help="print JSON instead of text")
    info.add_argument("--no-macs", action="store_true", help="skip the GMACs count")
    info.set_defaults(func=_cmd_info)

    hub = sub.add_parser("hub", help="local Hub-compatible server")
    hub_sub = hub.add_subparsers(dest="hub_command", required=True)
    serve = hub_sub.add_parser("serve", help="serve a Hub-compatible API on 127.0.0.1 (see mthub.hub.server)", add_help=False)
    serve.add_argument("server_args", nargs=argparse.REMAINDER)
    serve.set_defaults(func=_cmd_hub)

    cards = sub.add_parser("cards", help="write model_cards/<preset>.md for every preset")
    cards.add_argument("--out", default="model_cards")
    cards.add_argument("presets", nargs="*")
    cards.set_defaults(func=_cmd_cards)

    demo = sub.add_parser("demo", help="build the test model, run pipeline() on a generated video, print costs")
    demo.add_argument("--out", default="outputs/demo")
    demo.set_defaults(func=_cmd_demo)

    quickstart = sub.add_parser(
        "quickstart",
        help="generate scene videos, train TIF, beat a baseline, push/pull via the local Hub, pipeline() panels",
        add_help=False,
    )
    quickstart.add_argument("quickstart_args", nargs=argparse.REMAINDER)
    quickstart.set_defaults(func=lambda args: _cmd_quickstart(args.quickstart_args))
    return parser


def _cmd_quickstart(argv: list[str]) -> int:
    from mthub.quickstart.run import main as quickstart_main

    return int(quickstart_main(argv) or 0)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:2] == ["hub", "serve"]:
        # argparse's REMAINDER drops leading --options inside a sub-parser: hand them to the server's own parser.
        from mthub.hub.server import main as serve_main

        return int(serve_main(argv[2:]) or 0)
    if argv[:1] == ["quickstart"]:  # its own parser (--out, --toy, …), for the same reason
        return _cmd_quickstart(argv[1:])
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
