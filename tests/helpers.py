"""Small helpers shared by the tests (importable as ``tests.helpers``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def run_python(code: str, *, cwd: str | os.PathLike | None = None, env: dict | None = None, timeout: int = 300) -> str:
    """Run ``code`` in a fresh interpreter (mthub importable, one thread); return stdout, raise with stderr."""
    full_env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]), "OMP_NUM_THREADS": "1"}
    full_env.update(env or {})
    result = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(f"subprocess failed ({result.returncode}):\nSTDOUT:\n{result.stdout}\nSTDERR:\n{result.stderr}")
    return result.stdout
