"""Test helpers for the mthub Hub server: a server in a subprocess, clients in fresh subprocesses.

``huggingface_hub``, ``datasets`` and ``transformers`` read ``HF_ENDPOINT``, ``HF_HOME``,
``HF_HUB_OFFLINE`` ... once, at import time, so pointing an already-running test process at a local
hub does not work. These helpers instead run each client step as a fresh Python process with a
clean environment::

    from mthub.testing.hub import run_client, start_hub_server

    with start_hub_server(tmp_path / "hub") as hub:
        run_client('''
            from huggingface_hub import HfApi
            api = HfApi()
            api.create_repo("mthub/demo")
            emit(api.list_repo_files("mthub/demo"))   # -> result.result in the test
        ''', hub)
        assert any(e.path == "/api/repos/create" for e in hub.access_log())

With pytest, add ``pytest_plugins = ["mthub.testing.pytest_plugin"]`` to ``conftest.py`` for the
``hub_server`` / ``hub_client`` / ``hub_repo_id`` / ``hub_server_factory`` fixtures.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

#: ``src`` directory holding the ``mthub`` package (prepended to the clients' ``PYTHONPATH``).
SRC_DIR = Path(__file__).resolve().parents[2]
ACCESS_LOG_NAME = "access.log"
SERVER_LOG_NAME = "server.log"
DEFAULT_USER = "mthub"

# The server needs nothing from mthub's model registry: register bare parent packages so that
# ``import mthub.hub.server`` skips ``mthub/__init__`` (which imports transformers and registers every
# model -- seconds per start). The server then starts in a fraction of a second.
# A watchdog thread ends the server when the process that started it dies (no orphan servers after a
# crashed or killed test run).
_SERVER_BOOTSTRAP = """\
import os, sys, threading, time, types
parent = os.getppid()


def _exit_with_parent():
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


threading.Thread(target=_exit_with_parent, daemon=True).start()
src = os.environ.pop("MTHUB_HUB_SRC")
for name, sub in (("mthub", "mthub"), ("mthub.hub", os.path.join("mthub", "hub"))):
    module = types.ModuleType(name)
    module.__path__ = [os.path.join(src, sub)]
    sys.modules[name] = module
sys.path.insert(0, src)
from mthub.hub.server.cli import main
sys.exit(main(sys.argv[1:]))
"""

_CLIENT_PRELUDE = """\
import json as _mthub_json, os as _mthub_os


def emit(value):
    \"\"\"Hand a JSON-serialisable value back to the test (``ClientResult.result``).\"\"\"
    with open(_mthub_os.environ["MTHUB_CLIENT_RESULT"], "w") as _f:
        _mthub_json.dump(value, _f)


"""


class HubServerError(RuntimeError):
    """The hub server subprocess failed to start or died."""


class HubClientError(AssertionError):
    """A client subprocess failed (exit status != 0 or timeout); the message holds its output."""

    def __init__(self, message: str, result: subprocess.CompletedProcess | None = None):
        super().__init__(message)
        self.result = result

    @property
    def stderr(self) -> str:
        return self.result.stderr if self.result is not None else ""


@dataclass(frozen=True)
class AccessLogEntry:
    time: str
    method: str
    path: str
    status: int
    user: str | None
    line: str


def parse_access_log(text: str) -> list[AccessLogEntry]:
    entries = []
    for line in text.splitlines():
        parts = line.split(" ")
        if len(parts) < 5 or not parts[3].isdigit():
            continue
        user = parts[4].removeprefix("user=")
        entries.append(AccessLogEntry(parts[0], parts[1], parts[2], int(parts[3]), None if user == "-" else user, line))
    return entries


@dataclass
class HubServerHandle:
    """A running (or stopped) server subprocess. Usable as a context manager (stops on exit)."""

    url: str
    port: int
    token: str
    user: str
    tokens: dict[str, str]
    root: Path
    access_log_path: Path
    process: subprocess.Popen
    log_path: Path
    faults: tuple[str, ...] = ()
    _log_file: Any = field(default=None, repr=False)

    # -------------------------------------------------------------- lifecycle
    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def wait(self, timeout: float = 30.0) -> int:
        """Wait for the server to exit on its own (e.g. an injected fault); returns its exit status."""
        try:
            return self.process.wait(timeout)
        finally:
            self._close_log()

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds; returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        self._close_log()
        return self.process.returncode

    def restart(self, *, fault: str | Sequence[str] | None = None, startup_timeout: float = 60.0) -> HubServerHandle:
        """Stop this server (if running) and start a new one on the same root with the same tokens."""
        self.stop()
        return start_hub_server(self.root, tokens=self.tokens, fault=fault, startup_timeout=startup_timeout)

    def _close_log(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def __enter__(self) -> HubServerHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -------------------------------------------------------------- logs
    def server_output(self) -> str:
        """The server's stdout/stderr so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def access_log_mark(self) -> int:
        """Current end of the access log; pass it as ``since=`` to see only later requests."""
        return self.access_log_path.stat().st_size if self.access_log_path.exists() else 0

    def access_log(self, since: int = 0) -> list[AccessLogEntry]:
        if not self.access_log_path.exists():
            return []
        with open(self.access_log_path, "rb") as f:
            f.seek(since)
            return parse_access_log(f.read().decode("utf-8", "replace"))

    def find_requests(
        self, method: str | None = None, path_contains: str = "", status: int | None = None, since: int = 0
    ) -> list[AccessLogEntry]:
        return [
            e
            for e in self.access_log(since)
            if (method is None or e.method == method)
            and path_contains in e.path
            and (status is None or e.status == status)
        ]

    def assert_requested(
        self, method: str | None = None, path_contains: str = "", status: int | None = None, since: int = 0
    ) -> list[AccessLogEntry]:
        """Assert the access log holds a matching request; returns the matches."""
        found = self.find_requests(method, path_contains, status, since)
        if not found:
            tail = "\n".join(e.line for e in self.access_log(since)[-30:])
            raise AssertionError(
                f"no {method or 'any'} request with path containing {path_contains!r}"
                f"{f' and status {status}' if status is not None else ''} in {self.access_log_path};"
                f" last lines:\n{tail}"
            )
        return found

    # -------------------------------------------------------------- clients
    def client_env(self, hf_home: Path | str, **kwargs: Any) -> dict[str, str]:
        return client_env(self, hf_home, **kwargs)

    def run_client(self, code_or_script: str | Path, **kwargs: Any) -> ClientResult:
        return run_client(code_or_script, self, **kwargs)


def _parse_faults(fault: str | Sequence[str] | None) -> tuple[str, ...]:
    if fault is None:
        return ()
    return (fault,) if isinstance(fault, str) else tuple(fault)


def start_hub_server(
    root: Path | str,
    tokens: Mapping[str, str] | None = None,
    fault: str | Sequence[str] | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    startup_timeout: float = 60.0,
    python: str = sys.executable,
) -> HubServerHandle:
    """Start ``mthub.hub.server`` in a subprocess on a free port and wait until it answers.

    Args:
        root: storage directory (created if missing; reused across restarts).
        tokens: ``{token: user}``; default: one random token for user ``mthub``. The handle's
            ``token``/``user`` are the first entry.
        fault: fault-injection point(s) to arm, e.g. ``"after-blobs"`` (the server then exits hard
            after storing a commit's blobs, before moving the ref; see ``handle.wait()``).
    """
    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    tokens = dict(tokens) if tokens else {f"mthub-test-{secrets.token_hex(12)}": DEFAULT_USER}
    token, user = next(iter(tokens.items()))
    faults = _parse_faults(fault)
    ready = Path(tempfile.mkdtemp(prefix="mthub-hub-ready-")) / "ready.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MTHUB_HUB_")}
    env.update(
        MTHUB_HUB_SRC=str(SRC_DIR),
        MTHUB_HUB_TOKENS=",".join(f"{u}:{t}" for t, u in tokens.items()),
        PYTHONUNBUFFERED="1",
    )
    argv = [
        python,
        "-c",
        _SERVER_BOOTSTRAP,
        "--root",
        str(root),
        "--host",
        host,
        "--port",
        str(port),
        "--ready-file",
        str(ready),
    ]
    if "after-blobs" in faults:
        argv.append("--fault-after-blobs")
    log_path = root / SERVER_LOG_NAME
    log_file = open(log_path, "ab")
    process = subprocess.Popen(argv, env=env, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    handle = None
    try:
        deadline = time.monotonic() + startup_timeout
        while not ready.exists():
            if process.poll() is not None:
                raise HubServerError(
                    f"hub server exited with status {process.returncode} during startup:\n"
                    f"{log_path.read_text(errors='replace')[-4000:]}"
                )
            if time.monotonic() > deadline:
                raise HubServerError(
                    f"hub server did not start within {startup_timeout} s:\n"
                    f"{log_path.read_text(errors='replace')[-4000:]}"
                )
            time.sleep(0.02)
        info = json.loads(ready.read_text())
        handle = HubServerHandle(
            url=info["url"],
            port=int(info["port"]),
            token=token,
            user=user,
            tokens=tokens,
            root=root,
            access_log_path=root / ACCESS_LOG_NAME,
            process=process,
            log_path=log_path,
            faults=faults,
            _log_file=log_file,
        )
        _wait_until_answering(handle, deadline)
        return handle
    except BaseException:
        if process.poll() is None:
            process.kill()
            process.wait()
        log_file.close()
        raise
    finally:
        shutil.rmtree(ready.parent, ignore_errors=True)


def _wait_until_answering(handle: HubServerHandle, deadline: float) -> None:
    while True:
        try:
            with urllib.request.urlopen(f"{handle.url}/api/mthub/health", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError) as err:
            if time.monotonic() > deadline or not handle.alive:
                raise HubServerError(f"hub server at {handle.url} does not answer: {err}") from err
        time.sleep(0.05)


# ------------------------------------------------------------------------------ clients
class ClientResult(subprocess.CompletedProcess):
    """``CompletedProcess`` plus ``result``: the value the client passed to ``emit()`` (or None)."""

    result: Any = None


def client_env(
    hub: HubServerHandle,
    hf_home: Path | str,
    *,
    token: str | bool | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Environment of a client process talking to ``hub``.

    Every ``HF_*``/``HUGGINGFACE_*`` variable of the parent is dropped (e.g. a test session's
    ``HF_HUB_OFFLINE=1`` or cache paths), then: ``HF_ENDPOINT``, ``HF_HUB_DISABLE_XET=1`` (the server
    speaks LFS, not Xet), ``HF_HUB_OFFLINE=0``, ``HF_TOKEN`` (``token=None``: the hub's token; ``False``:
    anonymous; a string: that token), ``HF_HOME`` (caches), telemetry and progress bars off,
    ``PYTHONPATH`` starting with mthub's ``src`` and ``OMP_NUM_THREADS=1``.
    """
    drop = ("HF_", "HUGGINGFACE_")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(drop) and k not in ("TRANSFORMERS_OFFLINE", "TRANSFORMERS_CACHE")
    }
    pythonpath = [str(SRC_DIR)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env.update(
        HF_ENDPOINT=hub.url,
        HF_HUB_DISABLE_XET="1",
        HF_HUB_OFFLINE="0",
        HF_HOME=str(hf_home),
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        HF_DATASETS_DISABLE_PROGRESS_BARS="1",
        TRANSFORMERS_OFFLINE="0",
        OMP_NUM_THREADS="1",
        TOKENIZERS_PARALLELISM="false",
        PYTHONUNBUFFERED="1",
        PYTHONPATH=os.pathsep.join(dict.fromkeys(pythonpath)),
    )
    if token is None:
        env["HF_TOKEN"] = hub.token
    elif token is not False:
        env["HF_TOKEN"] = str(token)
    env.update(extra_env or {})
    return env


def _is_script(code_or_script: str | Path) -> bool:
    if isinstance(code_or_script, Path):
        return True
    return code_or_script.endswith(".py") and "\n" not in code_or_script and Path(code_or_script).is_file()


def _run(
    argv_tail: list[str],
    hub: HubServerHandle,
    *,
    workdir_prefix: str,
    script: Path | None = None,
    code: str | None = None,
    hf_home: Path | str | None,
    token: str | bool | None,
    extra_env: Mapping[str, str] | None,
    timeout: float,
    check: bool,
    cwd: Path | str | None,
    command: Sequence[str] | None = None,
) -> ClientResult:
    """Run ``command`` (else ``python script argv_tail``; ``code`` is first written to ``client.py`` after the
    client prelude) in a temporary working folder, removed afterwards with the ``HF_HOME`` it holds."""
    workdir = Path(tempfile.mkdtemp(prefix=workdir_prefix))
    try:
        if code is not None:
            script = workdir / "client.py"
            script.write_text(_CLIENT_PRELUDE + textwrap.dedent(code))
        hf_home = Path(hf_home) if hf_home else None
        result_path = workdir / "result.json"
        env = client_env(hub, hf_home or workdir / "hf_home", token=token, extra_env=extra_env)
        env["MTHUB_CLIENT_RESULT"] = str(result_path)
        argv = list(command) if command is not None else [sys.executable, str(script), *argv_tail]
        what = " ".join(argv[:1] + argv_tail[:6]) if command is not None else f"client script {script}"
        try:
            proc = subprocess.run(
                argv,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
                cwd=str(cwd or workdir),
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as err:
            out = err.stdout.decode(errors="replace") if isinstance(err.stdout, bytes) else (err.stdout or "")
            errs = err.stderr.decode(errors="replace") if isinstance(err.stderr, bytes) else (err.stderr or "")
            raise HubClientError(
                f"{what} timed out after {timeout} s\n--- stdout\n{out[-4000:]}\n--- stderr\n{errs[-8000:]}"
            ) from None
        result = ClientResult(proc.args, proc.returncode, proc.stdout, proc.stderr)
        if result_path.exists():
            result.result = json.loads(result_path.read_text())
        if check and proc.returncode != 0:
            raise HubClientError(
                f"{what} exited with status {proc.returncode} (hub {hub.url})\n"
                f"--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-8000:]}",
                result,
            )
        return result
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run_client(
    code_or_script: str | Path,
    hub: HubServerHandle,
    extra_env: Mapping[str, str] | None = None,
    timeout: float = 300.0,
    *,
    args: Sequence[str] = (),
    token: str | bool | None = None,
    hf_home: Path | str | None = None,
    check: bool = True,
    cwd: Path | str | None = None,
) -> ClientResult:
    """Run Python code (a string, dedented) or a script file in a fresh process talking to ``hub``.

    The process gets :func:`client_env` with a temporary ``HF_HOME`` (removed afterwards; pass
    ``hf_home=`` to keep or share one). Code strings may call ``emit(value)`` to return a JSON value
    as ``result.result``. Raises :class:`HubClientError` with stdout/stderr when the process fails
    (unless ``check=False``) or exceeds ``timeout``.
    """
    is_script = _is_script(code_or_script)
    return _run(
        list(args), hub, workdir_prefix="mthub-client-",
        script=Path(code_or_script).resolve() if is_script else None, code=None if is_script else str(code_or_script),
        hf_home=hf_home, token=token, extra_env=extra_env, timeout=timeout, check=check, cwd=cwd,
    )


def hf_cli_command() -> list[str]:
    """The ``hf`` CLI of the running interpreter's environment."""
    exe = Path(sys.executable).parent / "hf"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "huggingface_hub.cli.hf"]


def run_hf_cli(
    args: Sequence[str],
    hub: HubServerHandle,
    extra_env: Mapping[str, str] | None = None,
    timeout: float = 300.0,
    *,
    token: str | bool | None = None,
    hf_home: Path | str | None = None,
    check: bool = True,
    cwd: Path | str | None = None,
) -> ClientResult:
    """Run the client's own ``hf`` command line (``hf upload ...``, ``hf download ...``) against ``hub``."""
    return _run(
        list(args), hub, workdir_prefix="mthub-hf-cli-", command=[*hf_cli_command(), *args],
        hf_home=hf_home, token=token, extra_env=extra_env, timeout=timeout, check=check, cwd=cwd,
    )


__all__ = [
    "AccessLogEntry",
    "ClientResult",
    "HubClientError",
    "HubServerError",
    "HubServerHandle",
    "client_env",
    "hf_cli_command",
    "parse_access_log",
    "run_client",
    "run_hf_cli",
    "start_hub_server",
]
