"""`python -m bot.staff_accounts` (a command of the outside face): the module lives in bot/staff/accounts.py."""

import runpy

if __name__ == "__main__":
    runpy.run_module("bot.staff.accounts", run_name="__main__", alter_sys=True)
