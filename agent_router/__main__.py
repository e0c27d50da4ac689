"""Run ``python -m agent_router``."""

import sys

from agent_router.cli import main

sys.exit(main())
