"""The ``portagent`` command: run the server, and manage invite codes and users.

``portagent [options]`` serves (the same app as ``sanic service.app``, in one process);
``portagent invite create|list|revoke`` manages single-use invite codes in the data directory;
``portagent user list|promote|demote|activate|deactivate|password|quota`` manages accounts.
A flag left unset is simply absent, so it never overrides the environment or the env file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import errno
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .config import LOG_LEVELS, ConfigError, Settings, load_settings, prepare_data_dir

EPILOG = """\
Settings come from (lowest to highest): built-in defaults, the env file (.env, or -e FILE),
environment variables, then these flags. Prefer LLM_PROVIDER_KEY in the environment or an env
file over --api-key: other local users can read a process's command line.

Invite codes:
  portagent invite create [--uses N] [--expires 7d]   make a code (printed once)
  portagent invite list                               list codes
  portagent invite revoke ID                          revoke a code

Users (the first account registered is an admin):
  portagent user list                                 users, roles and today's tokens
  portagent user promote|demote NAME                  give or take the admin role
  portagent user activate|deactivate NAME             allow or refuse sign-in
  portagent user password NAME < file                 set a password (read from stdin)
  portagent user quota NAME TOKENS|default            set a user's daily token limit
"""


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a port number") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not between 1 and 65535")
    return value


def _add_location_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-d", "--data-dir", metavar="DIR", help="data directory (DATA_DIR)")
    parser.add_argument(
        "-e", "--env-file", metavar="FILE", type=Path, help="read settings from this env file"
    )


def serve_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="portagent",
        description="Portagent: a self-hosted gateway to Claude agents.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-V", "--version", action="version", version=f"portagent {__version__}")
    parser.add_argument("-p", "--port", type=_port, help="listen port (PORT, default 5200)")
    parser.add_argument("--host", help="listen address (HOST, default 0.0.0.0)")
    _add_location_flags(parser)
    parser.add_argument("--jwt-secret", metavar="SECRET", help="token signing secret (JWT_SECRET)")
    parser.add_argument("--api-key", metavar="KEY", help="Anthropic API key (LLM_PROVIDER_KEY)")
    parser.add_argument("--api-url", metavar="URL", help="API base URL (LLM_PROVIDER_URL)")
    parser.add_argument("--model", help="model name (LLM_PROVIDER_MODEL)")
    parser.add_argument("--log-level", choices=LOG_LEVELS, help="LOG_LEVEL")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="run with a built-in stand-in model: no API key needed (LLM_PROVIDER=demo)",
    )
    return parser


def _serve_overrides(args: argparse.Namespace) -> dict[str, Any]:
    flags = {
        "PORT": args.port,
        "HOST": args.host,
        "DATA_DIR": args.data_dir,
        "JWT_SECRET": args.jwt_secret,
        "LLM_PROVIDER_KEY": args.api_key,
        "LLM_PROVIDER_URL": args.api_url,
        "LLM_PROVIDER_MODEL": args.model,
        "LOG_LEVEL": args.log_level,
        "LLM_PROVIDER": "demo" if args.demo else None,
    }
    return {name: value for name, value in flags.items() if value is not None}


def _settings(args: argparse.Namespace, overrides: dict[str, Any]) -> Settings:
    return prepare_data_dir(load_settings(env_file=args.env_file, overrides=overrides))


def serve(argv: Sequence[str]) -> int:
    args = serve_parser().parse_args(argv)
    settings = _settings(args, _serve_overrides(args))
    from .app import create_app  # deferred: the server's imports are not needed for --help

    app = create_app(settings)
    try:
        app.run(
            host=settings.host,
            port=settings.port,
            single_process=True,
            debug=settings.debug,
            access_log=False,
            motd=False,
        )
    except OSError as error:
        message = _listen_error(settings, error)
        if message is None:
            raise
        raise ConfigError(message) from None
    return 0


def _listen_error(settings: Settings, error: OSError) -> str | None:
    """One line for the ways binding the listening socket fails, or None for anything else."""
    address = f"{settings.host}:{settings.port}"
    if error.errno == errno.EADDRINUSE:
        return (
            f"Error: invalid PORT ({settings.port}): {address} is already in use; stop the "
            "other server or choose another port with -p/--port or PORT"
        )
    if error.errno == errno.EACCES:
        return (
            f"Error: invalid PORT ({settings.port}): not allowed to listen on {address} "
            "(ports below 1024 need privileges); choose another port with -p/--port or PORT"
        )
    if error.errno == errno.EADDRNOTAVAIL:
        return f"Error: invalid HOST ({settings.host}): this machine has no such address"
    return None


def invite_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="portagent invite", description="Manage invite codes.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    create = commands.add_parser("create", help="create a code and print it once")
    create.add_argument("--uses", type=int, default=1, help="how many registrations (default 1)")
    create.add_argument("--expires", metavar="DURATION", help="lifetime such as 12h, 7d or 2w")
    create.add_argument("--note", help="a note for the list (who it is for)")
    _add_location_flags(create)
    listing = commands.add_parser("list", help="list codes (their text is never shown again)")
    _add_location_flags(listing)
    revoke = commands.add_parser("revoke", help="revoke a code by its id")
    revoke.add_argument("id")
    _add_location_flags(revoke)
    return parser


def _format_ms(value: int | None) -> str:
    if value is None:
        return "never"
    return dt.datetime.fromtimestamp(value / 1000).strftime("%Y-%m-%d %H:%M")


def invite(argv: Sequence[str]) -> int:
    from .auth.invites import hash_invite_code, new_invite_code, parse_duration
    from .storage import now_ms, open_store
    from .storage import users as user_store

    parser = invite_parser()
    args = parser.parse_args(argv)
    overrides = {"DATA_DIR": args.data_dir} if args.data_dir else {}
    overrides["LLM_PROVIDER"] = "demo"  # managing invites needs no API key
    settings = _settings(args, overrides)
    store = open_store(settings.auth_db_path, settings.agent_db_path)
    if args.command == "create":
        if args.uses < 1:
            parser.error("--uses must be at least 1")
        try:
            lifetime = parse_duration(args.expires) if args.expires else None
        except ValueError as error:
            parser.error(str(error))
        code = new_invite_code()
        expires_at = now_ms() + lifetime * 1000 if lifetime else None
        record = user_store.create_invite(
            store, hash_invite_code(code), max_uses=args.uses, expires_at=expires_at, note=args.note
        )
        print(code)
        print(
            f"id {record.id}, {record.max_uses} use(s), expires {_format_ms(record.expires_at)}."
            " This code is shown only once.",
            file=sys.stderr,
        )
        return 0
    if args.command == "list":
        invites = user_store.list_invites(store)
        if not invites:
            print("No invite codes.")
        for record in invites:
            state = (
                "usable" if record.usable else ("revoked" if record.revoked else "spent/expired")
            )
            print(
                f"{record.id}  {record.uses}/{record.max_uses} used  "
                f"expires {_format_ms(record.expires_at)}  {state}  {record.note or ''}".rstrip()
            )
        return 0
    if not user_store.revoke_invite(store, args.id):
        print(f"Error: no invite code with id {args.id}", file=sys.stderr)
        return 1
    print(f"Revoked invite {args.id}.")
    return 0


USER_ACTIONS = {
    "promote": ("is_admin", True, "is now an admin"),
    "demote": ("is_admin", False, "is no longer an admin"),
    "activate": ("is_active", True, "may sign in again"),
    "deactivate": ("is_active", False, "is deactivated: their tokens are refused"),
}


def user_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="portagent user", description="Manage users and the admin role."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_location_flags(commands.add_parser("list", help="users, roles and today's tokens"))
    helps = {
        "promote": "make a user an admin",
        "demote": "take the admin role away",
        "activate": "let a deactivated user sign in again",
        "deactivate": "refuse a user's sign-ins and tokens",
    }
    for name, text in helps.items():
        action = commands.add_parser(name, help=text)
        action.add_argument("name", help="username or email")
        _add_location_flags(action)
    password = commands.add_parser(
        "password", help="set a new password, read from stdin; the user's tokens stop working"
    )
    password.add_argument("name", help="username or email")
    _add_location_flags(password)
    quota = commands.add_parser("quota", help="set a user's own daily token limit")
    quota.add_argument("name", help="username or email")
    quota.add_argument("limit", help="tokens per UTC day, 0 for none, or 'default'")
    _add_location_flags(quota)
    return parser


def _print_users(settings: Settings, store: Any) -> None:
    from .admin.service import admin_users

    users = admin_users(settings, store)
    if not users:
        print("No users.")
    for user in users:
        roles = ("admin" if user.isAdmin else "user") + ("" if user.isActive else ", deactivated")
        limit = user.effectiveDailyTokenLimit
        print(
            f"{user.username}  {user.userId}  {roles}  "
            f"today {user.usageToday.totalTokens:,} tokens"
            + (f" of {limit:,}" if limit is not None else "")
        )


def _audit_line(settings: Settings, message: str) -> None:
    """Append an audit line to the server's log file, as the server writes its own."""
    import logging

    from .logs import FORMAT

    handler = logging.FileHandler(settings.log_file, encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT))
    audit = logging.getLogger("portagent.audit")
    audit.addHandler(handler)
    audit.setLevel(logging.INFO)
    try:
        audit.info(message)
    finally:
        audit.removeHandler(handler)
        handler.close()


def user(argv: Sequence[str]) -> int:
    """Runs against the databases directly; a running server sees the change at the next
    request (deactivation refuses tokens at once, but sockets already open stay open until
    they reconnect: deactivate through the admin API to end them)."""
    from .storage import open_store
    from .storage import users as user_store

    args = user_parser().parse_args(argv)
    overrides = {"DATA_DIR": args.data_dir} if args.data_dir else {}
    overrides["LLM_PROVIDER"] = "demo"  # managing users needs no API key
    settings = _settings(args, overrides)
    store = open_store(settings.auth_db_path, settings.agent_db_path)
    if args.command == "list":
        _print_users(settings, store)
        return 0
    found = user_store.find_user_by_login(store, args.name)
    if found is None:
        print(f"Error: no user named {args.name}", file=sys.stderr)
        return 1
    if args.command == "password":
        outcome = _set_password(settings, store, found.id)
    elif args.command == "quota":
        outcome = _set_quota(store, found.id, args.limit)
    else:
        field, value, outcome = USER_ACTIONS[args.command]
        if field == "is_admin":
            user_store.set_admin(store, found.id, value)
        else:
            user_store.set_active(store, found.id, value)
    _audit_line(settings, f"cli action={args.command} user={found.id}")
    print(f"{found.username} {outcome}.")
    return 0


def _set_password(settings: Settings, store: Any, user_id: str) -> str:
    """Read the password from stdin (asked for twice on a terminal), never from the command
    line, where other local users could read it."""
    import getpass

    from .auth.passwords import hash_password_sync
    from .auth.service import PASSWORD_MAX, PASSWORD_MIN
    from .storage import users as user_store

    if sys.stdin.isatty():
        password = getpass.getpass("New password: ")
        if getpass.getpass("Again: ") != password:
            raise ConfigError("Error: the passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX or "\x00" in password:
        raise ConfigError(f"Error: a password has {PASSWORD_MIN}-{PASSWORD_MAX} characters")
    password_hash = hash_password_sync(password, settings.bcrypt_rounds)
    user_store.set_password_hash(store, user_id, password_hash)
    return "has a new password: their old tokens are refused"


def _set_quota(store: Any, user_id: str, limit_text: str) -> str:
    from .storage import users as user_store

    if limit_text == "default":
        user_store.set_daily_token_limit(store, user_id, None)
        return "now has the server's daily token limit (USER_DAILY_TOKEN_LIMIT)"
    if not (limit_text.isascii() and limit_text.isdigit()) or int(limit_text) >= 2**62:
        raise ConfigError(f"Error: '{limit_text}' is not a number of tokens, 0 or 'default'")
    limit = int(limit_text)
    user_store.set_daily_token_limit(store, user_id, limit)
    return "has no daily token limit" if limit == 0 else f"may use {limit:,} tokens a day"


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] == "invite":
            return invite(argv[1:])
        if argv and argv[0] == "user":
            return user(argv[1:])
        return serve(argv)
    except ConfigError as error:
        print(str(error), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
