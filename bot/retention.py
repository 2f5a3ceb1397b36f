"""`python -m bot.retention` (a command of the outside face): the module lives in bot/jobs/retention.py."""

import runpy

if __name__ == "__main__":
    runpy.run_module("bot.jobs.retention", run_name="__main__", alter_sys=True)
