"""`python -m bot.outreach run [--now ISO-8601] [--dry-run]`: see bot/outreach/cli.py."""

import sys

from bot.outreach.cli import main

sys.exit(main())
