"""pytest fixtures for tests against a local mthub Hub server.

Enable with ``pytest_plugins = ["mthub.testing.pytest_plugin"]`` in a ``conftest.py``.

* ``hub_server`` (module scope): one server per test module, on a fresh root; a
  :class:`~mthub.testing.hub.HubServerHandle` (``.url``, ``.token``, ``.root``, ``.access_log()``...).
* ``hub_client``: ``hub_client(code, **kwargs)`` runs client code in a fresh process against
  ``hub_server`` (see :func:`~mthub.testing.hub.run_client`); ``hub_client.cli([...])`` runs ``hf``.
* ``hub_repo_id``: a repo id unique to the test, ``"<user>/<test-name>-<n>"``.
* ``hub_server_factory``: ``hub_server_factory(root=None, tokens=None, fault=None)`` starts extra
  servers (e.g. with a fault armed) that are stopped after the test.

Typical model round trip (the client processes import mthub to register its Auto classes)::

    def test_round_trip(hub_client, hub_repo_id):
        hub_client(f'''
            import mthub, torch
            from transformers import AutoModel
            model = ...  # tiny config
            model.push_to_hub("{hub_repo_id}")
        ''')
        out = hub_client(f'''
            import mthub
            from transformers import AutoModel
            emit(AutoModel.from_pretrained("{hub_repo_id}").config.to_dict())
        ''').result
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from .hub import HubServerHandle, run_client, run_hf_cli, start_hub_server

_counter = itertools.count()


class HubClient:
    """Callable bound to one server: ``hub_client(code, **kwargs)`` / ``hub_client.cli(args, **kwargs)``."""

    def __init__(self, hub: HubServerHandle):
        self.hub = hub

    def __call__(self, code_or_script: str | Path, **kwargs: Any):
        return run_client(code_or_script, self.hub, **kwargs)

    def cli(self, args: list[str], **kwargs: Any):
        return run_hf_cli(args, self.hub, **kwargs)


@pytest.fixture(scope="module")
def hub_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServerHandle]:
    with start_hub_server(tmp_path_factory.mktemp("hub")) as hub:
        yield hub


@pytest.fixture
def hub_client(hub_server: HubServerHandle) -> HubClient:
    return HubClient(hub_server)


@pytest.fixture
def hub_repo_id(request: pytest.FixtureRequest, hub_server: HubServerHandle) -> str:
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name).strip("-_")[:60] or "repo"
    return f"{hub_server.user}/{name}-{next(_counter)}"


@pytest.fixture
def hub_server_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., HubServerHandle]]:
    started: list[HubServerHandle] = []

    def factory(root: Path | str | None = None, **kwargs: Any) -> HubServerHandle:
        handle = start_hub_server(root if root is not None else tmp_path_factory.mktemp("hub"), **kwargs)
        started.append(handle)
        return handle

    yield factory
    for handle in started:
        handle.stop()
