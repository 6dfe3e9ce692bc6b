"""``python -m gradgate ...`` runs the ``gradgate`` command."""

import sys

from .cli import main

sys.exit(main())
