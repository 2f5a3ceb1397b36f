"""`python -m bot.migrate` (a command of the outside face): the module lives in bot/store/migrate.py."""

import runpy

if __name__ == "__main__":
    runpy.run_module("bot.store.migrate", run_name="__main__", alter_sys=True)
