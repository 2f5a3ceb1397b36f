"""Personal staff accounts: each staff member signs in to the console with a token of their own, so
take-overs, 住民情報 reads and link codes are recorded under who really did them.

Tokens are `secrets.token_urlsafe(32)` (256 random bits), shown once when an account is added or
rotated; only their SHA-256 is stored. A plain (unsalted, fast) hash is enough here: it only has to
be one-way, and nobody can brute-force 256 random bits, so salting or a slow KDF (needed for
passwords people choose) would add nothing. A token is found by its hash through a unique index;
the match is confirmed with `hmac.compare_digest`.

The shared STAFF_TOKEN (the demo, small set-ups) still works beside the accounts; see bot/staff/console.py.

    python -m bot.staff_accounts add tanaka 田中 太郎   # prints tanaka's token, once
    python -m bot.staff_accounts list
    python -m bot.staff_accounts rotate tanaka          # a new token; the old one stops working
    python -m bot.staff_accounts disable tanaka
    python -m bot.staff_accounts enable tanaka

Every command first migrates the database (DATABASE_URL, or the SQLite file under DATA_DIR).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import re
import secrets
import sys
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, DateTime, Index, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, Session, mapped_column

from bot.store.db import Base

ID_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,59}")
NAME_MAX = 100


def utcnow() -> datetime:
    return datetime.now(UTC)


class StaffAccount(Base):
    __tablename__ = "staff_accounts"
    __table_args__ = (Index("ix_staff_accounts_token_hash", "token_hash", unique=True),)

    id: Mapped[str] = mapped_column(String(60), primary_key=True)  # the login id, e.g. "tanaka"
    name: Mapped[str] = mapped_column(String(NAME_MAX))  # shown in the console: 田中 太郎
    token_hash: Mapped[str] = mapped_column(String(64))  # sha256 hex of the token; never the token
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class StaffScope(Base):
    """An account's role and departments (CONTRACTS §8). An account without a row is a supervisor,
    as every account was before departments existed."""

    __tablename__ = "staff_scopes"

    account_id: Mapped[str] = mapped_column(String(60), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), default="staff")  # staff | supervisor
    departments: Mapped[list[str]] = mapped_column(JSON, default=list)  # catalog department ids


class AccountError(Exception):
    """A refused command: a malformed id or name, an id taken or unknown."""


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_id(account_id: str) -> str:
    if not ID_RE.fullmatch(account_id):
        raise AccountError(
            f"bad staff id {account_id!r}: use 1–60 lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (e.g. tanaka or t.tanaka)"
        )
    return account_id


def check_name(name: str) -> str:
    name = " ".join(name.split())
    if not name or len(name) > NAME_MAX or any(unicodedata.category(c).startswith("C") for c in name):
        raise AccountError(f"bad name: give a display name of 1–{NAME_MAX} printable characters")
    return name


# ---- the API side (async): one indexed query per request, nothing cached


async def find_account(session: AsyncSession, token: str) -> StaffAccount | None:
    """The enabled account whose token this is, or None."""
    digest = hash_token(token)
    account = await session.scalar(
        select(StaffAccount).where(StaffAccount.token_hash == digest, StaffAccount.disabled_at.is_(None))
    )
    if account is None or not hmac.compare_digest(account.token_hash, digest):
        return None
    return account


async def scope_of(session: AsyncSession, account_id: str) -> tuple[str, frozenset[str]]:
    """The account's role and departments; a supervisor when none are stored."""
    scope = await session.get(StaffScope, account_id)
    if scope is None:
        return "supervisor", frozenset()
    return ("supervisor" if scope.role == "supervisor" else "staff"), frozenset(scope.departments or ())


def scope_line(session: Session, account_id: str) -> tuple[str, str]:
    scope = session.get(StaffScope, account_id)
    if scope is None:
        return "supervisor", "-"
    return scope.role, ",".join(scope.departments or ()) or "-"


async def any_enabled(session: AsyncSession) -> bool:
    found = await session.scalar(select(StaffAccount.id).where(StaffAccount.disabled_at.is_(None)).limit(1))
    return found is not None


# ---- the command-line side (sync)


ROLES = ("staff", "supervisor")


def check_departments(departments: Sequence[str], known: set[str] | None) -> list[str]:
    """Department ids of the catalog (`departments:` in procedures.yml); unknown ones refused."""
    if known is not None:
        unknown = [d for d in departments if d not in known]
        if unknown:
            raise AccountError(
                f"unknown department {', '.join(map(repr, unknown))}: use an id of `departments:` in "
                f"procedures.yml ({', '.join(sorted(known))})"
            )
    return list(dict.fromkeys(departments))


def add_account(
    session: Session,
    account_id: str,
    name: str,
    *,
    departments: Sequence[str] = (),
    role: str | None = None,
    known_departments: set[str] | None = None,
) -> str:
    """Create the account; returns its token (the only time it exists in clear). Without a
    department and a role it is a supervisor, as every account was before departments."""
    check_id(account_id)
    name = check_name(name)
    role = role or ("staff" if departments else "supervisor")
    if role not in ROLES:
        raise AccountError(f"bad role {role!r}: staff or supervisor")
    depts = check_departments(departments, known_departments)
    if role == "staff" and not depts:
        raise AccountError("a staff account needs --department (or --role supervisor)")
    if session.get(StaffAccount, account_id) is not None:
        raise AccountError(f"staff id {account_id!r} already exists (rotate its token, or choose another id)")
    token = new_token()
    session.add(StaffAccount(id=account_id, name=name, token_hash=hash_token(token), created_at=utcnow()))
    session.add(StaffScope(account_id=account_id, role=role, departments=depts))
    try:
        session.flush()
    except IntegrityError:
        raise AccountError(f"staff id {account_id!r} already exists") from None
    return token


def list_accounts(session: Session) -> list[StaffAccount]:
    return list(session.scalars(select(StaffAccount).order_by(StaffAccount.id)))


def _get(session: Session, account_id: str) -> StaffAccount:
    check_id(account_id)
    account = session.get(StaffAccount, account_id)
    if account is None:
        raise AccountError(f"no staff account {account_id!r} (see: python -m bot.staff_accounts list)")
    return account


def disable_account(session: Session, account_id: str) -> bool:
    """Disable the account at once; False if it already was."""
    account = _get(session, account_id)
    if account.disabled_at is not None:
        return False
    account.disabled_at = utcnow()
    return True


def enable_account(session: Session, account_id: str) -> bool:
    """Enable a disabled account again (with the token it had); False if it was enabled."""
    account = _get(session, account_id)
    if account.disabled_at is None:
        return False
    account.disabled_at = None
    return True


def rotate_token(session: Session, account_id: str) -> str:
    """A new token for the account; the old one stops working at once."""
    account = _get(session, account_id)
    token = new_token()
    account.token_hash = hash_token(token)
    return token


def _when(at: datetime | None, zone: ZoneInfo) -> str:
    if at is None:
        return "-"
    if at.tzinfo is None:  # SQLite hands back naive datetimes, which are UTC here
        at = at.replace(tzinfo=UTC)
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot.staff_accounts", description="Personal staff console accounts and their tokens."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="create an account and print its token once")
    add.add_argument("id", help="login id: lowercase letters, digits, '.', '_', '-'")
    add.add_argument("name", nargs="+", help="display name, e.g. 田中 太郎")
    add.add_argument(
        "--department",
        action="append",
        default=[],
        help="a department id of `departments:` in procedures.yml (repeat for several)",
    )
    add.add_argument("--role", choices=ROLES, default=None, help="staff (default with a department) or supervisor")
    commands.add_parser("list", help="list the accounts (never their tokens)")
    commands.add_parser("password", help="set the account's console password (read from stdin)").add_argument("id")
    for command, text in (
        ("disable", "disable an account at once"),
        ("enable", "enable a disabled account again"),
        ("rotate", "print a new token once; the old one stops working"),
    ):
        commands.add_parser(command, help=text).add_argument("id")
    return parser


def _token_lines(account_id: str, token: str) -> list[str]:
    """The token alone on the last line (CONTRACTS §8), so a script can take it with `tail -n 1`."""
    return [
        f"The token for {account_id} is shown only now, on the next line: hand it to the staff member;"
        " it cannot be shown again.",
        token,
    ]


def _run(session: Session, args: argparse.Namespace, zone: ZoneInfo) -> list[str]:
    """Carry out one command; the lines to print once it is committed."""
    if args.command == "add":
        token = add_account(
            session,
            args.id,
            " ".join(args.name),
            departments=args.department,
            role=args.role,
            known_departments=_known_departments(),
        )
        role, depts = scope_line(session, args.id)
        scope = "every department" if role == "supervisor" else depts
        return [f"added staff account {args.id} ({role}: {scope})", *_token_lines(args.id, token)]
    if args.command == "list":
        lines = [f"{'id':<20} {'name':<20} {'role':<10} {'departments':<24} {'created':<16}  disabled"]
        for a in list_accounts(session):
            role, depts = scope_line(session, a.id)
            lines.append(
                f"{a.id:<20} {a.name:<20} {role:<10} {depts:<24} {_when(a.created_at, zone):<16}  "
                f"{_when(a.disabled_at, zone)}"
            )
        return lines
    if args.command == "disable":
        return [f"disabled {args.id}" if disable_account(session, args.id) else f"{args.id} was already disabled"]
    if args.command == "enable":
        return [f"enabled {args.id}" if enable_account(session, args.id) else f"{args.id} was already enabled"]
    if args.command == "password":
        from bot.staff.sessions import PasswordError, set_password

        _get(session, args.id)
        try:
            set_password(session, args.id, _read_password())
        except PasswordError as exc:
            raise AccountError(str(exc)) from None
        return [f"password set for {args.id}; its other console sessions are signed out"]
    token = rotate_token(session, args.id)  # "rotate"
    lines = [f"new token for {args.id}; the old one no longer works"]
    if _get(session, args.id).disabled_at is not None:
        lines.append(f"note: {args.id} is disabled; enable it before it can sign in")
    return [*lines, *_token_lines(args.id, token)]


def _read_password() -> str:
    """From the terminal without echo, or the first line of standard input (scripts)."""
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass("password: ")
    return sys.stdin.readline().rstrip("\n")


def _known_departments() -> set[str]:
    from bot.settings import Settings
    from knowledge.catalog import load_catalog

    return set(load_catalog(Settings().data_dir).data.departments)


def main(argv: Sequence[str] | None = None) -> int:
    from bot.settings import Settings
    from bot.store.db import make_sync_engine, migrate

    args = _parser().parse_args(argv)
    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = settings.resolved_database_url
    migrate(url)
    engine = make_sync_engine(url)
    try:
        with Session(engine) as session, session.begin():
            lines = _run(session, args, ZoneInfo(settings.timezone))
    except AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print("\n".join(lines))  # only once committed: a printed token always works
    return 0


if __name__ == "__main__":
    sys.exit(main())
