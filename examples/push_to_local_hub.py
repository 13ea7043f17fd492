#!/usr/bin/env python
"""Push a trained checkpoint (model + image processor + generated card) to a Hub and reload it from there.

Against a Hub you already run (``mthub hub serve --root hub --port 8765 --token-file tokens.txt`` in another
terminal; any Hub-compatible endpoint works the same way)::

    HF_ENDPOINT=http://127.0.0.1:8765 HF_TOKEN=<token> HF_HUB_DISABLE_XET=1 \\
        python examples/push_to_local_hub.py --checkpoint outputs/quickstart/checkpoint --repo mthub/my-tif

That is plain transformers / huggingface_hub code: ``model.push_to_hub(repo)`` (weights, config and a card generated
from the model's metadata, one commit) and ``processor.push_to_hub(repo)``; then ``AutoModel.from_pretrained(repo)``.

Without ``HF_ENDPOINT`` the script starts mthub's local Hub server itself (storage ``--hub-root``, a random token),
pushes from a fresh process and reloads in another fresh process — as the quickstart does — and with ``--serve``
keeps the server running (Ctrl-C stops it), printing the environment a client needs.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path


def _push_here(checkpoint: str, repo: str) -> None:
    """HF_ENDPOINT is set: push and reload in this process."""
    import torch
    from huggingface_hub import HfApi
    from transformers import AutoImageProcessor, AutoModel

    import mthub  # noqa: F401 - registers mthub models with transformers

    model = AutoModel.from_pretrained(checkpoint).eval()
    processor = AutoImageProcessor.from_pretrained(checkpoint)
    commit = model.push_to_hub(repo, commit_message="Upload TIF")
    processor.push_to_hub(repo, commit_message="Upload image processor")
    print(f"pushed {repo} to {os.environ['HF_ENDPOINT']}: {commit.commit_url}")
    print("files:", ", ".join(sorted(HfApi().list_repo_files(repo))))
    reloaded = AutoModel.from_pretrained(repo, force_download=True).eval()
    height, width = model.config.image_size
    inputs = torch.randn(2, 3, height, width, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        before, after = model(pixel_values=inputs).logits, reloaded(pixel_values=inputs).logits
    same = all(torch.equal(before[task], after[task]) for task in before)
    print(f"reloaded from the Hub: outputs {'identical' if same else 'DIFFERENT'}")
    if not same:
        raise SystemExit(1)


def _push_with_local_server(checkpoint: str, repo: str, hub_root: str, serve: bool) -> None:
    from mthub.quickstart import available_cores
    from mthub.quickstart.hub import run_hub_client, start_local_hub

    hub = start_local_hub(hub_root)
    try:
        print(f"mthub Hub server at {hub.url} (storage {hub.root})")
        work = Path(hub_root) / "clients"
        run_hub_client("push", {"checkpoint": Path(checkpoint).resolve(), "repo": repo}, hub, work)
        pulled = run_hub_client("pull", {"repo": repo, "threads": available_cores()}, hub, work)
        print(f"reloaded {repo} at commit {pulled['commit'][:10]}: {pulled['model_class']}, files {pulled['files']}")
        if serve:
            print("\nserving until Ctrl-C; clients need:\n"
                  f"  export HF_ENDPOINT={hub.url} HF_TOKEN={hub.token} HF_HUB_DISABLE_XET=1\n"
                  f"  python -c \"import mthub; from transformers import AutoModel; "
                  f"print(AutoModel.from_pretrained('{repo}'))\"")  # fmt: skip
            while hub.alive:
                time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        hub.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", required=True, help="folder with config.json, weights, preprocessor_config.json")
    parser.add_argument("--repo", default="mthub/quickstart-tif")
    parser.add_argument("--hub-root", default="outputs/hub", help="server storage when this script starts the server")
    parser.add_argument("--serve", action="store_true", help="keep the server running after the push (Ctrl-C stops)")
    args = parser.parse_args(argv)
    if os.environ.get("HF_ENDPOINT"):
        _push_here(args.checkpoint, args.repo)
    else:
        _push_with_local_server(args.checkpoint, args.repo, args.hub_root, args.serve)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
