"""The command line: thin commands over library functions, one place that maps errors to exit codes.

Exit codes: 0 ok; 1 something needs attention (a claim lost, rejected import lines, an alert
fired, a connector failed); 2 usage or config error. Errors print one line, never a traceback.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import sqlite3
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from social_watch import __version__
from social_watch.errors import ConfigError, SocialWatchError, UsageError

F = TypeVar("F", bound=Callable[..., Any])
ENV_AGENT = "SOCIAL_WATCH_AGENT"


class App:
    """What every command needs, built lazily so `--help` stays fast."""

    def __init__(self, config_path: str | None, db_path: str | None, agent: str | None = None):
        self.config_path = config_path
        self._db_path = db_path
        self._config: Any = None
        self._agent = agent
        self._db: Any = None
        self.may_create = False

    @property
    def config(self) -> Any:
        """The validated config, loaded on first use (`check` loads it its own way)."""
        if self._config is None:
            from social_watch import config as cfg

            self._config = cfg.load(self.config_path)
        return self._config

    @property
    def db_path(self) -> str:
        """The database as given: a SQLite file or a ``postgresql://`` URL."""
        return str(self._db_path or self.config.database)

    @property
    def db_name(self) -> str:
        """The database as output may show it (a URL without any password)."""
        from social_watch.store import display

        return display(self.db_path)

    @property
    def db(self) -> Any:
        """The database, opened (and migrated) on first use."""
        if self._db is None:
            self._db = self.open_db(self.db_path, may_create=self.may_create)
        return self._db

    def open_db(self, target: str, *, may_create: bool = False) -> Any:
        """The store at ``target``, the one way every command opens one.

        Only commands that fill a database (demo, import, poll, watch) may create a SQLite
        file; the others refuse a missing one, so a mistyped --db is an error, not an empty
        inbox. A PostgreSQL URL gets its password from config ``password_env``.
        """
        from social_watch import db
        from social_watch.store import is_postgres

        if is_postgres(target):
            return db.connect(target, password_env=self.config.password_env)
        if not may_create:
            path = Path(target)
            fill = "`social-watch demo`, `import`, `poll` or `watch`"
            if not path.exists():
                raise UsageError(
                    f"no database at {target}: check --db (or config `database`), "
                    f"or fill one first with {fill}"
                )
            if path.is_file() and path.stat().st_size == 0:  # SQLite would make it one
                raise UsageError(
                    f"{target} is an empty file, not a social-watch database: check --db "
                    f"(or config `database`), or fill it with {fill}"
                )
        return db.connect(target)

    def now(self) -> Any:
        from social_watch.clock import utcnow

        return utcnow()

    def agent(self, required: bool = True) -> str | None:
        agent = self._agent or os.environ.get(ENV_AGENT)
        if not agent:
            if required:
                raise UsageError(f"say who you are: --as AGENT or set {ENV_AGENT}")
            return None
        from social_watch import policy

        return policy.check_agent(self.config, agent)

    def sla(self) -> Any:
        from social_watch import policy

        return policy.sla_settings(self.config)


def store_options(func: F) -> F:
    """--config and --db, spelled the same on every command."""

    @click.option(
        "--config",
        "config_path",
        metavar="PATH",
        help="Config file (else $SOCIAL_WATCH_CONFIG, else ./social-watch.toml).",
    )
    @click.option(
        "--db",
        "db_path",
        metavar="PATH|URL",
        help="SQLite file or postgresql://user@host:port/db (else config `database`, "
        "else ./social-watch.db).",
    )
    @functools.wraps(func)
    def wrapper(*args: Any, config_path: str | None, db_path: str | None, **kwargs: Any) -> Any:
        agent = kwargs.pop("agent", None)
        app = App(config_path, db_path, agent)
        if not getattr(func, "lists_config_problems", False):
            app.config  # noqa: B018  an invalid config stops the command before anything else
        return func(app, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def lists_config_problems(func: F) -> F:
    """For `check`: the command loads the config itself, to list every problem in it."""
    func.lists_config_problems = True  # type: ignore[attr-defined]
    return func


def agent_option(func: F) -> F:
    return click.option("--as", "agent", metavar="AGENT", help=f"Agent id (else ${ENV_AGENT}).")(
        func
    )


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(func)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def echo_item_json(app: App, mention_id: int) -> None:
    """The changed item after an action, in the shape of `show --json`."""
    from social_watch import queue as q

    echo_json(q.show(app.db, mention_id, now=app.now(), sla=app.sla()))


def cli_hint(exc: SocialWatchError, command: str | None, group: str | None = None) -> str:
    """The way out in CLI words, appended to a library message that names none."""
    from social_watch.errors import NotFound, Refused

    if isinstance(exc, NotFound):
        where = "agents list" if group == "agents" else "queue"
        return f" (see `social-watch {where}`)"
    if not isinstance(exc, Refused):
        return ""
    item = exc.item_id
    if exc.guard == "sensitive":
        return (
            f": move it to e-mail with `social-watch to-email {item}`, "
            "or --force to answer in public anyway"
        )
    if exc.guard == "personal_data":
        if exc.variant == "note":
            return "; change the note's template, or --force if it is not personal"
        return (
            f"; move it to e-mail with `social-watch to-email {item}`, "
            "or --force if it is not personal"
        )
    if exc.guard == "answered":
        if exc.variant == "again":
            return f"; see `social-watch show {item}`, or --force to answer again"
        return "; --force to post another"
    if exc.guard == "closed":
        what = "move it anyway" if command == "to-email" else "answer it anyway"
        return f"; see `social-watch show {item}`, or --force to {what}"
    if exc.guard == "claimed":
        if command == "release":
            return "; use --force to release it anyway"
        if command in ("done", "dismiss"):
            return "; use --force to override"
        return "; use --force to answer anyway"
    return ""


class Group(click.Group):
    """Maps library errors to a one-line message and the error's exit code."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """click's usage errors as one line with the hint on it, like every other error."""
        from social_watch import output

        with output.installed():
            return self._main(args, prog_name, complete_var, standalone_mode, **extra)

    def _main(
        self,
        args: Sequence[str] | None,
        prog_name: str | None,
        complete_var: str | None,
        standalone_mode: bool,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, False, **extra)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx else "social-watch"
            message = " ".join(exc.format_message().split())
            click.echo(f"Error: {message} (see '{where} --help')", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) and not isinstance(rv, bool) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SocialWatchError as exc:
            click.echo(
                f"Error: {exc}{cli_hint(exc, ctx.invoked_subcommand, ctx.info_name)}", err=True
            )
            ctx.exit(exc.exit_code)
        except sqlite3.DatabaseError as exc:  # a write outside db.write(), a full disk, ...
            from social_watch.db import busy
            from social_watch.errors import StoreError

            error = busy(exc) or StoreError(f"the database failed: {exc}")
            click.echo(f"Error: {error}", err=True)
            ctx.exit(error.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(130)
        except BrokenPipeError:
            sys.stderr.close()
            ctx.exit(0)
        except Exception as exc:  # last: the specific handlers above come first
            # psycopg's errors (a server that went away mid-command): one line, no traceback.
            # Looked up, not imported: a SQLite-only run never loads psycopg.
            psycopg = sys.modules.get("psycopg")
            if psycopg is None or not isinstance(exc, psycopg.Error):
                raise
            from social_watch.errors import StoreError

            reason = " ".join(str(exc).split()) or type(exc).__name__
            error = StoreError(f"PostgreSQL failed: {reason}")
            click.echo(f"Error: {error}", err=True)
            ctx.exit(error.exit_code)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="social-watch")
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    envvar="SOCIAL_WATCH_LOG_LEVEL",
    default="warning",
    show_default=True,
    help="How much to log on stderr.",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    envvar="SOCIAL_WATCH_LOG_FORMAT",
    default="text",
    show_default=True,
    help="Readable lines, or JSON lines for log collectors.",
)
def cli(log_level: str, log_format: str) -> None:
    """social-watch: every public mention of your brand, answered within 30 minutes.

    \b
    Start here:
        social-watch demo            build a demo inbox from bundled sample mentions
        social-watch queue           what waits for an answer, the ones still savable first
        social-watch claim 12 --as jana
    """
    from social_watch import logs

    logs.setup(log_level, log_format)


def main() -> None:
    cli(prog_name="social-watch")


def _sentiment_option(value: str | None) -> str | None:
    """--sentiment as `label` takes it: the short forms (neg) and any case."""
    if value is None:
        return None
    from social_watch.queue import sentiment_label

    try:
        return sentiment_label(value)
    except UsageError as exc:
        raise click.BadParameter(str(exc)) from None


# --- the inbox --------------------------------------------------------------------------


@cli.command()
@store_options
@agent_option
@json_option
@click.option("--network", help="Only this network (x, facebook, reddit, trustpilot, heureka, …).")
@click.option("--tag", help="Only items with this tag.")
@click.option(
    "--sentiment",
    callback=lambda _ctx, _param, value: _sentiment_option(value),
    help="Only this sentiment: positive, neutral, negative or unknown (neg, pos, neu, unk).",
)
@click.option("--overdue", is_flag=True, help="Only items past their due time.")
@click.option("--mine", is_flag=True, help="Only items claimed by you.")
@click.option("--unclaimed", is_flag=True, help="Only items nobody holds.")
@click.option(
    "--limit", type=click.IntRange(min=0), default=50, show_default=True, help="0 for all."
)
@click.option(
    "--sort",
    type=click.Choice(["next-breach", "due", "oldest", "newest"]),
    default="next-breach",
    show_default=True,
    help="next-breach: items still inside their target, soonest due first, then the "
    "breached ones; due: earliest due first; oldest/newest: by when the customer wrote.",
)
def queue(
    app: App,
    as_json: bool,
    network: str | None,
    tag: str | None,
    sentiment: str | None,
    overdue: bool,
    mine: bool,
    unclaimed: bool,
    limit: int,
    sort: str,
) -> None:
    """Mentions that need an answer, the ones still inside their target first.

    By default the items a team can still save come first (soonest due first), then
    those already past their target (longest overdue first).

    \b
    Example:
        social-watch queue --overdue --unclaimed
        social-watch queue --json --limit 0 | jq '.[].id'
    """
    from social_watch import queue as q
    from social_watch import render

    now = app.now()
    filters = q.QueueFilter(
        network=network,
        tag=tag,
        sentiment=sentiment,
        overdue=overdue,
        mine=app.agent() if mine else None,
        unclaimed=unclaimed,
        limit=limit or None,
        sort=sort,
    )
    items = q.list_items(app.db, now=now, sla=app.sla(), filters=filters)
    if as_json:
        echo_json(items)
        return
    matching = None
    if any((network, tag, sentiment, overdue, mine, unclaimed)):
        matching = len(items)
        if filters.limit is not None and matching >= filters.limit:
            unlimited = dataclasses.replace(filters, limit=None)
            matching = len(q.list_items(app.db, now=now, sla=app.sla(), filters=unlimited))
    click.echo(render.queue_table(items, q.summary(app.db, now=now), matching))


@cli.command()
@store_options
@json_option
@click.argument("mention_id")
def show(app: App, as_json: bool, mention_id: str) -> None:
    """The whole thread of a mention with its history of actions.

    \b
    Example:
        social-watch show 12
        social-watch show x:1790000000000000001 --json
    """
    from social_watch import queue as q
    from social_watch import render

    data = q.show(app.db, mention_id, now=app.now(), sla=app.sla())
    if as_json:
        echo_json(data)
    else:
        click.echo(render.thread_text(data))


@cli.command()
@store_options
@agent_option
@json_option
@click.argument("mention_id")
def claim(app: App, as_json: bool, mention_id: str) -> None:
    """Take an item so colleagues know you are on it (exit 1 if someone else holds it).

    \b
    Example:
        social-watch claim 12 --as jana
    """
    from social_watch import queue as q

    agent = app.agent()
    assert agent is not None
    result = q.claim(app.db, mention_id, agent, now=app.now(), ttl=app.config.queue["claim_ttl"])
    if as_json:
        echo_json(result)
    else:
        click.echo(f"Claimed {result['id']} for {agent} until {result['claim_expires_at']}.")


@cli.command()
@store_options
@agent_option
@json_option
@click.option("--force", is_flag=True, help="Release a claim held by someone else.")
@click.argument("mention_id")
def release(app: App, as_json: bool, mention_id: str, force: bool) -> None:
    """Give an item back to the queue.

    \b
    Example:
        social-watch release 12 --as jana
    """
    from social_watch import queue as q

    agent = app.agent()
    assert agent is not None
    result = q.release(app.db, mention_id, agent, now=app.now(), force=force)
    if as_json:
        echo_item_json(app, result["id"])
        return
    click.echo(f"Released {result['id']}: back in the queue.")


@cli.command()
@store_options
@agent_option
@json_option
@click.option("--note", help="Why, for the history.")
@click.option("--force", is_flag=True, help="Close an item claimed by someone else.")
@click.argument("mention_id")
def done(app: App, as_json: bool, mention_id: str, note: str | None, force: bool) -> None:
    """Mark an item handled: it leaves the inbox.

    \b
    Example:
        social-watch done 12 --as jana --note "answered by phone"
    """
    from social_watch import queue as q

    result = q.close(
        app.db, mention_id, app.agent(), now=app.now(), status="done", note=note, force=force
    )
    if as_json:
        echo_item_json(app, result["id"])
        return
    click.echo(f"Done: {result['id']}.")


@cli.command()
@store_options
@agent_option
@json_option
@click.option(
    "--reason", required=True, type=click.Choice(["spam", "no-reply-needed", "duplicate", "other"])
)
@click.option("--note", help="Why, for the history.")
@click.option("--force", is_flag=True, help="Dismiss an item claimed by someone else.")
@click.argument("mention_id")
def dismiss(
    app: App, as_json: bool, mention_id: str, reason: str, note: str | None, force: bool
) -> None:
    """Remove an item that needs no answer.

    \b
    Example:
        social-watch dismiss 31 --reason spam --as jana
    """
    from social_watch import queue as q

    result = q.close(
        app.db,
        mention_id,
        app.agent(),
        now=app.now(),
        status="dismissed",
        reason=reason,
        note=note,
        force=force,
    )
    if as_json:
        echo_item_json(app, result["id"])
        return
    click.echo(f"Dismissed {result['id']} ({reason}).")


@cli.command()
@store_options
@agent_option
@json_option
@click.argument("args", nargs=-1, required=True, metavar="[ID] SENTIMENT")
@click.option(
    "--where",
    "where",
    multiple=True,
    metavar="KEY=VALUE",
    help="Bulk: label every mention matching all filters (network, status, author, "
    "sentiment, model, tag, lang, query, text).",
)
def label(app: App, as_json: bool, args: tuple[str, ...], where: tuple[str, ...]) -> None:
    """Correct the sentiment of a mention; the correction wins over the model.

    SENTIMENT is positive, neutral, negative or unknown.

    \b
    Example:
        social-watch label 12 negative --as jana
        social-watch label negative --where tag=undelivered --where model=neutral
    """
    from social_watch import queue as q

    agent = app.agent(required=False)
    if len(args) > 2:
        raise UsageError("expected ID SENTIMENT, or SENTIMENT with --where filters")
    sentiment = args[-1]
    mention_id = args[0] if len(args) == 2 else None
    if where:
        if mention_id:
            raise UsageError("give a mention id or --where filters, not both")
        count = q.label_where(app.db, list(where), sentiment, agent, now=app.now())
        if as_json:
            echo_json({"labelled": count, "sentiment": q.sentiment_label(sentiment)})
            return
        click.echo(f"Labelled {count} mention(s) {q.sentiment_label(sentiment)}.")
        return
    if not mention_id:
        raise UsageError("give a mention id, or --where filters for a bulk correction")
    result = q.label(app.db, mention_id, sentiment, agent, now=app.now())
    if as_json:
        echo_item_json(app, result["id"])
        return
    click.echo(f"Mention {result['id']}: {result['sentiment']} (model said {result['model']}).")


# -tag removes a tag, so '-h' is not help here ('-hot' removes 'hot'); --help still is.
@cli.command(context_settings={"ignore_unknown_options": True, "help_option_names": ["--help"]})
@store_options
@agent_option
@json_option
@click.argument("mention_id")
@click.argument("changes", nargs=-1, required=True, type=click.UNPROCESSED)
def tag(app: App, as_json: bool, mention_id: str, changes: tuple[str, ...]) -> None:
    """Add (+tag or tag) or remove (-tag) tags on a mention.

    A tag name is lower-case letters, digits, '-' and '_', starting with a letter or digit
    (up to 40 characters); a word starting with '--' is an option, not a tag.

    \b
    Example:
        social-watch tag 12 +vip -review
        social-watch tag 12 +vip --json
    """
    from social_watch import queue as q

    add, remove = q.parse_tag_changes(changes)
    result = q.retag(
        app.db, mention_id, app.agent(required=False), now=app.now(), add=add, remove=remove
    )
    if as_json:
        echo_item_json(app, result["id"])
        return
    click.echo(f"Mention {result['id']}: tags {', '.join(result['tags']) or '(none)'}.")


# --- getting mentions in ----------------------------------------------------------------


@cli.command(name="import")
@store_options
@click.argument("file", type=click.Path(allow_dash=True, dir_okay=False))
@json_option
def import_(app: App, file: str, as_json: bool) -> None:
    """Ingest normalized mentions from a JSON Lines file (or - for stdin).

    Exit 0 if anything was imported, 1 if lines were rejected, 2 if the file is unreadable.

    \b
    Example:
        social-watch import mentions.jsonl
        cat export.jsonl | social-watch import -
    """
    from social_watch import ingest_file

    if file != "-" and not Path(file).exists():
        raise UsageError(f"cannot read {file}: no such file")
    progress = sys.stderr.isatty() and not as_json
    app.may_create = True
    result = ingest_file.run(app.db, app.config, file, progress=progress)
    if as_json:
        echo_json(result.as_dict())
    else:
        for r in result.rejected[:50]:
            click.echo(f"line {r.line}: {r.reason}", err=True)
        if len(result.rejected) > 50:
            click.echo(f"… and {len(result.rejected) - 50} more rejected lines", err=True)
        click.echo(result.describe())
    if result.rejected:
        sys.exit(1)


@cli.command()
@click.argument("texts", nargs=-1)
@json_option
@click.option(
    "--lang",
    help="Language of the texts, if known: en, cs, sk, pl, uk, ru or de (a region such as "
    "cs-CZ is fine). Leave it out to detect each text's language.",
)
@click.option(
    "--config",
    "config_path",
    metavar="PATH",
    help="Config file whose [sentiment] thresholds label the scores, as import stores them "
    "(else $SOCIAL_WATCH_CONFIG, else ./social-watch.toml).",
)
def sentiment(
    texts: tuple[str, ...], as_json: bool, lang: str | None, config_path: str | None
) -> None:
    """Score texts (arguments, or one per line on stdin): label, compound, language.

    The language is the one that decided the score: --lang, else the detected one
    ('-' when none could be told). Labels follow the config's [sentiment] thresholds, so
    they are the ones an import of the same texts stores.

    \b
    Example:
        social-watch sentiment "still waiting for my refund"
        cut -f2 messages.tsv | social-watch sentiment --json
    """
    from social_watch import sentiment as sent
    from social_watch.pipeline import with_thresholds

    pos, neg = 0.05, -0.05  # VADER's own
    try:
        thresholds = App(config_path, None).config.section("sentiment")
        pos, neg = thresholds["positive_threshold"], thresholds["negative_threshold"]
    except ConfigError:
        if config_path:  # asked for: its error is the answer
            raise
        # a scorer in a pipe keeps working in a folder whose own config is broken
    if not texts and sys.stdin.isatty():
        raise UsageError(
            "give texts as arguments or one per line on stdin, e.g. "
            "social-watch sentiment 'where is my order?'"
        )
    if lang is not None:
        # a language without a lexicon would answer 'unknown' for every text: say so once
        base = lang.strip().lower().replace("_", "-").split("-", 1)[0]
        supported = sorted(sent.supported_languages())
        if base not in supported:
            raise UsageError(
                f"no sentiment lexicon for --lang {lang!r}: supported are "
                f"{', '.join(supported)} (leave --lang out to detect each text's language)"
            )
    lines = texts or (line.rstrip("\r\n") for line in sys.stdin)
    out = sys.stdout
    for text in lines:
        s, used = sent.score_detail(text, lang)
        s = with_thresholds(s, pos, neg)
        if as_json:
            row = {"text": text, "label": s.label, "compound": s.compound, "lang": used}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            out.write(f"{s.label}\t{s.compound:+.4f}\t{used or '-'}\t{text}\n")


@cli.command()
@click.option("--db", "db_path", metavar="PATH", help="Demo database (default: ./social-watch.db).")
@click.option("--config", "config_path", metavar="PATH", hidden=True)
def demo(db_path: str | None, config_path: str | None) -> None:
    """Build a demo inbox from bundled sample mentions (no credentials, no network).

    Safe to run twice. It refuses to write into a database that holds real mentions.

    \b
    Example:
        social-watch demo && social-watch queue
    """
    from social_watch import demo as demo_mod
    from social_watch.store import is_postgres

    app = App(config_path, db_path)
    app.config  # noqa: B018  an invalid config is an error here too, as on every command
    if is_postgres(app.db_path):
        raise UsageError(
            f"the demo builds a SQLite file, not {app.db_name}: run `social-watch demo --db "
            "demo.db`, then `social-watch db copy demo.db URL` to try it on PostgreSQL"
        )
    result = demo_mod.run(app.db_path)
    click.echo(demo_mod.describe(result, app.db_path))
    click.echo()
    app._db = None
    from social_watch import queue as q
    from social_watch import render

    db = demo_mod.open_db(app.db_path)
    now = app.now()
    items = q.list_items(db, now=now, sla=app.sla(), filters=q.QueueFilter(limit=15))
    click.echo(render.queue_table(items, q.summary(db, now=now)))
    click.echo()
    click.echo(demo_mod.next_steps(items, app.db_path))
    made = demo_mod.web_logins(db, now=now)
    if made:
        click.echo()
        click.echo("Web inbox logins (shown once; `agents set-password ID` sets a new one):")
        for agent_id, role, password in made:
            click.echo(f"  {agent_id:<5} {role:<6} password {password}")
    click.echo(
        f"Open the team inbox: social-watch serve --db {app.db_path}  (http://127.0.0.1:8080)"
    )


# --- the database -----------------------------------------------------------------------


@cli.group(cls=Group)
def db() -> None:
    """Inspect the database, or copy it into another (SQLite and PostgreSQL)."""


@db.command(name="status")
@store_options
@json_option
def db_status(app: App, as_json: bool) -> None:
    """Schema version and counts.

    \b
    Example:
        social-watch db status --db social-watch.db
    """
    from social_watch import migrations, store

    version, name = migrations.schema_version(app.db)
    data = {
        "database": app.db_name,
        "schema_version": version,
        "migration": name,
        **store.counts(app.db),
    }
    if as_json:
        echo_json(data)
        return
    click.echo(f"database        {data['database']}")
    click.echo(f"schema          version {version} ({name})")
    click.echo(f"mentions        {data['mentions']} ({data['brand_posts']} by the brand)")
    for status, count in sorted(data["by_status"].items()):
        click.echo(f"  {status:<15} {count}")
    for network, count in sorted(data["by_network"].items()):
        click.echo(f"  {network:<15} {count}")
    click.echo(f"actions         {data['actions']}")
    agreement = data["sentiment_agreement"]
    share = f"{agreement:.0%}" if agreement is not None else "n/a"
    click.echo(
        f"sentiment       {data['sentiment_reviewed']} reviewed by agents, {share} agreed with the model"
    )
    for code, row in data["sentiment_agreement_by_lang"].items():
        click.echo(
            f"  {code:<15} {row['reviewed']} reviewed, {row['agreement']:.0%} agreed with the model"
        )


@db.command(name="copy")
@click.argument("src", metavar="SRC")
@click.argument("dst", metavar="DST")
@click.option("--force", is_flag=True, help="Copy into a destination that holds data already.")
@click.option(
    "--batch",
    type=click.IntRange(min=1),
    default=10_000,
    show_default=True,
    help="Rows per transaction.",
)
@click.option(
    "--config",
    "config_path",
    metavar="PATH",
    help="Config file, for password_env (else $SOCIAL_WATCH_CONFIG, else ./social-watch.toml).",
)
def db_copy(src: str, dst: str, force: bool, batch: int, config_path: str | None) -> None:
    """Copy every table of one database into another, then verify it.

    SRC and DST are each a SQLite file or a postgresql:// URL (the password from config
    password_env); a missing DST file is created. Rows go in batches, so an interrupted
    copy is resumed by running the same command again. Each table is checked at the end
    (row count and checksum). Exit 0 when verified, 1 if a table differs, 2 on a usage
    error (such as a DST that holds data, without --force).

    \b
    Example:
        social-watch db copy social-watch.db postgresql://sw@127.0.0.1:5432/sw
        social-watch db copy postgresql://sw@db.internal/sw backup.db
    """
    from social_watch.store import copy as copier
    from social_watch.store import display, is_postgres

    app = App(config_path, None)
    app.config  # noqa: B018  an invalid config stops the command first
    if _same_database(src, dst):
        raise UsageError(f"{display(src)} is both the source and the destination")
    if not is_postgres(src) and not Path(src).is_file():
        raise UsageError(f"no database at {src}: SRC is a SQLite file or a postgresql:// URL")
    source = app.open_db(src)
    target = app.open_db(dst, may_create=True)
    progress = _CopyProgress() if sys.stderr.isatty() else None
    try:
        result = copier.copy(source, target, batch=batch, force=force, progress=progress)
    except KeyboardInterrupt:
        if progress is not None:
            progress.finish()
        click.echo(
            f"Interrupted: the rows copied so far stay in {target.url}; run the same "
            "`db copy` again to resume.",
            err=True,
        )
        sys.exit(130)
    finally:
        source.close()
        target.close()
    if progress is not None:
        progress.finish()
    for table in result.tables:
        if table.rows:
            there = table.rows - table.copied
            resumed = f"  ({there:,} there already)" if there > 0 else ""
            click.echo(f"{table.table:<22} {table.rows:>10,} rows  checksum ok{resumed}")
    click.echo(f"Copied {display(src)} into {display(dst)}: {result.rows:,} rows, verified.")


def _same_database(a: str, b: str) -> bool:
    from urllib.parse import urlsplit

    from social_watch.store import is_postgres

    if is_postgres(a) and is_postgres(b):
        pa, pb = urlsplit(a), urlsplit(b)
        return (pa.hostname, pa.port or 5432, pa.path) == (pb.hostname, pb.port or 5432, pb.path)
    if is_postgres(a) or is_postgres(b):
        return False
    return Path(a).resolve() == Path(b).resolve()


class _CopyProgress:
    """Rows done / total per table, rewritten in place on a terminal (stderr)."""

    def __init__(self) -> None:
        self.table: str | None = None

    def __call__(self, table: str, done: int, total: int) -> None:
        if not total:
            return
        if table != self.table:
            self.finish()
            self.table = table
        checking = "  checking" if done >= total else ""  # the checksums come next
        sys.stderr.write(f"\r{table:<22} {done:>10,} / {total:,}{checking}")
        sys.stderr.flush()

    def finish(self) -> None:
        if self.table is not None:
            sys.stderr.write("\n")
            sys.stderr.flush()
        self.table = None


# Command groups kept in their own modules (each keeps its heavy imports inside commands).
from social_watch import (  # noqa: E402
    cli_alerts,  # noqa: F401
    cli_connectors,  # noqa: F401
    cli_reports,  # noqa: F401
    cli_respond,  # noqa: F401
    cli_watch,  # noqa: F401
    cli_web,  # noqa: F401
)
