"""`python -m gan_core ...`: see gan_core/cli/__init__.py."""
import sys

from gan_core.cli import main

sys.exit(main())
