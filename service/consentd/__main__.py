"""`python -m consentd`: the command line lives in consentd.cli."""

from __future__ import annotations

import sys

from consentd.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
