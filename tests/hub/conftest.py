"""Hub server tests: every client step runs the unmodified ``huggingface_hub`` client in a fresh process.

The fixtures come from :mod:`mthub.testing.pytest_plugin` (imported here because ``pytest_plugins`` is
only honoured in the top-level conftest).
"""

from mthub.testing.pytest_plugin import hub_client, hub_repo_id, hub_server, hub_server_factory  # noqa: F401
