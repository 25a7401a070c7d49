"""``python -m orchestrator.cli``: the ``baton`` command."""

import sys

from orchestrator.cli.main import main

sys.exit(main())
