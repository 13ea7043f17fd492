"""``python -m mthub.hub.server``: see :mod:`mthub.hub.server.cli`."""

import sys

from .cli import main

sys.exit(main())
