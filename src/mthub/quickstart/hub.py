"""The quickstart's local Hub: start mthub's Hub server, push from one fresh process, pull from another.

The server runs as a subprocess on a free port with a random write token (:func:`mthub.testing.hub.start_hub_server`:
it waits until the server answers and ends it when this process dies, so an interrupted quickstart leaves no server
behind). Clients are ``python -m mthub.quickstart.hub_client`` processes whose environment points at it.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

from ..testing.hub import HubServerHandle, client_env, start_hub_server

__all__ = ["HubClientFailed", "client_process_env", "run_hub_client", "start_local_hub"]


class HubClientFailed(RuntimeError):
    """A Hub client process exited with an error; the message carries its output."""


def start_local_hub(root: str | Path) -> HubServerHandle:
    """Start the Hub server on ``root`` (its storage; reused across runs) with a fresh random token for user
    ``mthub`` (the organisation the quickstart pushes to)."""
    return start_hub_server(root, tokens={f"mthub-quickstart-{secrets.token_hex(16)}": "mthub"})


def client_process_env(hub: HubServerHandle, hf_home: str | Path, threads: int) -> dict[str, str]:
    """Environment of a client process: ``HF_ENDPOINT`` = the server, its token, ``HF_HUB_DISABLE_XET=1`` (the server
    speaks LFS), online mode, its own ``HF_HOME`` cache, mthub's ``src`` on ``PYTHONPATH`` and ``threads`` OpenMP
    threads (:func:`mthub.testing.hub.client_env`; every other ``HF_*`` variable of this process is dropped)."""
    return client_env(hub, hf_home, extra_env={"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)})


def run_hub_client(
    command: str,
    arguments: dict[str, Any],
    hub: HubServerHandle,
    work_dir: str | Path,
    threads: int = 1,
    timeout: float = 900.0,
    echo: bool = True,
) -> dict[str, Any]:
    """Run ``python -m mthub.quickstart.hub_client <command> --key value …`` in a fresh process against ``hub``
    (its own ``HF_HOME`` under ``work_dir``); echo its summary lines and return the JSON it wrote.

    Raises:
        HubClientFailed: the process failed or timed out (with its stdout/stderr).
    """
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    result_path = work_dir / f"{command}_result.json"
    argv = [sys.executable, "-m", "mthub.quickstart.hub_client", command, "--result", str(result_path)]
    for key, value in arguments.items():
        argv += [f"--{key.replace('_', '-')}", str(value)]
    env = client_process_env(hub, work_dir / f"hf_home_{command}", threads)
    try:
        proc = subprocess.run(
            argv,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            cwd=os.getcwd(),
            check=False,  # the status is checked below, with the output in the error
        )
    except subprocess.TimeoutExpired as err:
        raise HubClientFailed(f"hub client {command!r} timed out after {timeout} s:\n{err.stderr or ''}") from None
    if proc.returncode != 0:
        raise HubClientFailed(
            f"hub client {command!r} exited with status {proc.returncode} (server {hub.url}):\n"
            f"--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-8000:]}"
        )
    if echo:
        for line in proc.stdout.splitlines():
            print(f"  [{command} process] {line}", flush=True)
    return json.loads(result_path.read_text())
