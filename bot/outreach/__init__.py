"""Outreach (出前型のお知らせ): notices from the rules in knowledge/data/outreach_rules.yml.

`targets` finds what is due (pure reads), `send` writes each notice once (its key unique in the
database) into the resident's conversation and, on LINE, the push outbox; `scheduler` runs it in
the server; `python -m bot.outreach run` runs it from the command line (CONTRACTS §7).
"""
