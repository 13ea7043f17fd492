"""The quickstart's Hub clients, each run in a fresh process (``python -m mthub.quickstart.hub_client push|pull``).

``huggingface_hub`` and ``transformers`` read ``HF_ENDPOINT`` and the token when they are imported, so each client
runs in its own process whose environment points at the local Hub server (:func:`mthub.quickstart.hub.client_process_env`).

* ``push``: load the trained checkpoint, ``model.push_to_hub(repo)`` (weights + config + generated card in one
  commit, :func:`mthub.hub.push.push_model`), then a second commit with the image processor and the card extended
  by the run's measured results.
* ``pull``: in a process that has never seen the checkpoint, ``AutoModel.from_pretrained(repo)`` from the Hub, run it on
  the frames the trainer's process saved (``--inputs``) and save its outputs for comparison, then run
  ``pipeline("multi-task-dense-prediction", model=repo)`` on a new video and save the per-frame predictions.

Each writes a JSON summary to ``--result``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["main"]


def _push(args: argparse.Namespace) -> dict:
    from huggingface_hub import HfApi
    from transformers import AutoImageProcessor, AutoModel

    import mthub  # noqa: F401 - registers the mthub model types with transformers
    from mthub.hub.cards import model_card_for

    model = AutoModel.from_pretrained(args.checkpoint)
    processor = AutoImageProcessor.from_pretrained(args.checkpoint)
    first = model.push_to_hub(args.repo, commit_message="Quickstart TIF: weights, config and model card")
    card = model_card_for(model, args.repo)
    text = str(card).rstrip() + "\n"
    if args.card_section:
        text += "\n" + Path(args.card_section).read_text() + "\n"
    with tempfile.TemporaryDirectory() as folder:
        processor.save_pretrained(folder)
        Path(folder, "README.md").write_text(text)
        second = HfApi().upload_folder(
            repo_id=args.repo, folder_path=folder, commit_message="Quickstart TIF: image processor and measured results"
        )
    files = sorted(HfApi().list_repo_files(args.repo))
    print(f"pushed {args.repo}: commits {first.oid[:10]}, {second.oid[:10]}; files {', '.join(files)}", flush=True)
    return {"repo_id": args.repo, "commits": [first.oid, second.oid], "files": files, "card_chars": len(text)}


def _pull(args: argparse.Namespace) -> dict:
    import numpy as np
    import torch
    from huggingface_hub import HfApi, hf_hub_download
    from transformers import AutoModel, pipeline

    import mthub  # noqa: F401 - registers the mthub model types with transformers: needed before from_pretrained
    from mthub.quickstart.report import CARD_RESULTS_HEADING

    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    model = AutoModel.from_pretrained(args.repo).eval()
    info = HfApi().model_info(args.repo)
    card = Path(hf_hub_download(args.repo, "README.md")).read_text()
    result = {}
    if args.inputs:
        inputs = torch.from_numpy(np.load(args.inputs))
        with torch.no_grad():
            logits = model(pixel_values=inputs).logits
        np.savez(args.outputs, **{task: value.numpy() for task, value in logits.items()})
        result["compared_frames"] = int(inputs.shape[0])
    print(
        f"reloaded {args.repo} (commit {info.sha[:10]}, {len(info.siblings or [])} files) in a fresh process: "
        f"{type(model).__name__} with tasks {model.config.task_names}",
        flush=True,
    )
    if args.video:
        runner = pipeline("multi-task-dense-prediction", model=args.repo)
        frames = runner(args.video, batch_size=8)
        np.savez(
            args.predictions,
            frame_index=np.array([f["frame_index"] for f in frames]),
            depth=np.stack([f["depth"].numpy() for f in frames]),
            semseg=np.stack([f["semseg"]["labels"].numpy() for f in frames]),
            normals=np.stack([f["normals"].numpy() for f in frames]),
        )
        print(f"pipeline('multi-task-dense-prediction', model={args.repo!r}) on {args.video}: {len(frames)} frames", flush=True)
        result["pipeline_frames"] = len(frames)
        result["image_processor_class"] = type(runner.image_processor).__name__
    return {
        "repo_id": args.repo,
        "commit": info.sha,
        "files": sorted(s.rfilename for s in info.siblings or []),
        "model_class": type(model).__name__,
        "card_has_results": CARD_RESULTS_HEADING in card,
        **result,
        "seconds": time.perf_counter() - start,
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mthub.quickstart.hub_client", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    push = sub.add_parser("push", help="push a checkpoint folder (model + image processor) with its card")
    push.add_argument("--checkpoint", required=True)
    push.add_argument("--repo", required=True)
    push.add_argument("--card-section", default=None, help="markdown file appended to the generated card")
    push.add_argument("--result", required=True)
    pull = sub.add_parser("pull", help="reload from the Hub, run on saved inputs and on a video through pipeline()")
    pull.add_argument("--repo", required=True)
    pull.add_argument("--inputs", default=None, help=".npy of (N, 3, H, W) pixel values to run the model on")
    pull.add_argument("--outputs", default=None, help=".npz written with the model's logits per task (with --inputs)")
    pull.add_argument("--video", default=None, help="a video to run pipeline() on")
    pull.add_argument("--predictions", default=None, help=".npz of the pipeline's per-frame predictions (with --video)")
    pull.add_argument("--threads", type=int, default=1)
    pull.add_argument("--result", required=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "pull":
        for given, needed in (("inputs", "outputs"), ("video", "predictions")):
            if getattr(args, given) and not getattr(args, needed):
                parser.error(f"--{given} needs --{needed}")
    result = _push(args) if args.command == "push" else _pull(args)
    Path(args.result).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
