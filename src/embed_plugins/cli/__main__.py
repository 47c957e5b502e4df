"""``python -m embed_plugins.cli``: the same as the ``embed-plugins`` script."""

from __future__ import annotations

import sys

from . import main

if __name__ == "__main__":
    sys.exit(main())
