"""Answer a queue item in public: compose, guard, then send once through the outbox.

Composing renders a care template (jinja2, sandboxed, undefined variables are an error)
and appends the agent's signature, because customers expect a person to sign. Then the
guards run, all before anything is recorded or sent, and each refusal says why and what to
do instead:

- the thread looks private (``sensitive_reasons``): answer by e-mail (`to-email`);
- the reply itself carries personal data (e-mail, phone, card, order number, address,
  IBAN, tracking code, in the ways people write them: ``SensitiveDetector(strict=True)``),
  except the brand's own help-desk addresses from ``[email]`` and the hand-off reference:
  nothing personal in public (nor in the greeting: see ``public_name``);
- the item was closed (``done``, or dismissed as spam), naming who, why and when;
- another agent holds the claim;
- someone else answered since this agent claimed it (a colleague through social-watch, or
  the brand natively as a poll saw it), naming who and when.

Each refusal is a :class:`~social_watch.errors.Refused` naming its guard, overridden one by
one (``overrides``) or all at once (``force``, the CLI's --force); the length rule is never
overridden (the network would refuse anyway). Sending goes through ``social_watch.outbox``: record, post, mark; earlier
replies of the item with an unknown outcome are reconciled first (``settle_earlier``), so
re-running a timed-out or killed command never posts twice: the new row reuses the earlier
idempotency key where the network honours keys, and waits out ``outbox.GRACE`` where it
does not.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from social_watch import db as dbmod
from social_watch import outbox, templating
from social_watch.authors import ANONYMOUS, NAMED_NETWORKS
from social_watch.clock import from_db
from social_watch.config import Agent, Config
from social_watch.connector import REPLY, Connector
from social_watch.errors import GUARDS, ConfigError, Conflict, Refused, UsageError
from social_watch.lengths import check_length
from social_watch.models import Author, Mention
from social_watch.queue import resolve
from social_watch.store import replies as r_sql
from social_watch.store.base import Store

# Networks whose connector cannot reply (tests/test_registry.py keeps this in step with them).
READ_ONLY_NETWORKS = ("hackernews", "rss", "heureka")

STARTER_TEMPLATES: dict[str, dict[str, str]] = {
    "thanks": {
        "description": "a thank-you for praise or a kind word",
        "text": (
            "Hi {{ customer_name }}, thank you so much for the kind words! They made the "
            "team's day, and we've passed them on. Anything else we can help with, just ask."
        ),
    },
    "sorry-delay": {
        "description": "a specific apology for a late order, with the next step",
        "text": (
            "Hi {{ customer_name }}, we're sorry your order is taking longer than we promised: "
            "that's on us. We're checking with the carrier right now and will update you here "
            "within the hour. Does that work for you?"
        ),
    },
    "where-is-my-order": {
        "description": "where to find tracking, and an offer to chase it",
        "text": (
            "Hi {{ customer_name }}, thanks for asking! Your tracking link is in the shipping "
            "confirmation e-mail. If it hasn't moved for 2 working days, tell us here and "
            "we'll chase the carrier for you. Does that help?"
        ),
    },
    "move-to-email": {
        "description": "the public note when a thread moves to e-mail (needs a reference)",
        "text": (
            "Hi {{ customer_name }}, thanks for reaching out, and sorry for the trouble. "
            "This needs your personal details, so let's continue privately: please write to "
            "{{ help_desk | default('our care team by e-mail', true) }} with reference "
            "{{ reference }} and we'll answer within the hour."
        ),
    },
}
HANDOFF_TEMPLATE = "move-to-email"


class ReadOnly(UsageError):
    """The network (or its connector) cannot post: the thread can only move to e-mail."""


@dataclass
class Draft:
    """Exactly what would be posted, where, and by whom."""

    item_id: int
    mention: Mention  # the message this replies to (the item's latest)
    mention_id: int
    network: str
    connector: str
    agent: str
    kind: str
    text: str
    count: int
    limit: int | None
    template: str | None
    reference: str | None = None
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "mention_id": self.mention_id,
            "network": self.network,
            "connector": self.connector,
            "in_reply_to": {
                "author": self.mention.author.handle,
                "url": self.mention.url,
                "native_id": self.mention.native_id,
            },
            "agent": self.agent,
            "kind": self.kind,
            "text": self.text,
            "length": self.count,
            "limit": self.limit,
            "template": self.template,
            "reference": self.reference,
            "warnings": self.warnings,
        }


# --- templates ----------------------------------------------------------------------------


def templates(config: Config) -> dict[str, dict[str, str]]:
    """The starter set, extended or overridden by ``[templates.<name>]``."""
    out = {name: dict(t) for name, t in STARTER_TEMPLATES.items()}
    for name, t in (config.section("templates") or {}).items():
        out[name] = {"text": t["text"], "description": t.get("description") or ""}
    return out


def agent_profile(config: Config, agent: str, *, demo: bool = False) -> Agent:
    """The configured agent; in the demo (a replay connector) with no [agents] at all, the
    demo's agents (jana, tom) sign. A real reply never gets here unconfigured (see
    :func:`ensure_identity`)."""
    agents = config.agents
    if agent in agents:
        return agents[agent]
    if not agents and demo:
        from social_watch.demo import DEMO_CONFIG

        demo_agents: dict[str, dict[str, str]] = DEMO_CONFIG["agents"]  # type: ignore[assignment]
        known = demo_agents.get(agent)
        if known:
            return Agent(agent, known["name"], known["signature"])
    return Agent(agent, agent)


def signature(profile: Agent) -> str:
    """The configured signature, else '– FirstName': a real name, never a blank."""
    if profile.signature.strip():
        return profile.signature.strip()
    return f"– {profile.name.split()[0]}" if profile.name.strip() else ""


def sign(text: str, sig: str) -> str:
    if not sig or text.rstrip().endswith(sig):
        return text
    return f"{text}\n\n{sig}" if "\n" in text else f"{text} {sig}"


def help_desk(config: Config) -> str | None:
    email = config.section("email")
    if email and email.get("to"):
        return str(email["to"][0])
    return None


def variables(
    config: Config, head: Mapping[str, Any], target: Mention, profile: Agent
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "customer": target.author.handle,
        "customer_name": public_name(config, target.author, target.network),
        "agent": profile.id,
        "agent_name": profile.name,
        "brand": config.brand_name,
        "network": target.network,
        "url": target.url or "",
    }
    desk = help_desk(config)
    if desk:
        values["help_desk"] = desk
    return values


def _personal(config: Config, text: str, *, digits: int) -> bool:
    """Does ``text`` hold or look like an e-mail address or a phone number?"""
    if "@" in text or "\uff20" in text or sum(ch.isdigit() for ch in text) >= digits:
        return True
    return bool(detector(config).find(text))


def public_name(config: Config, author: Author, network: str | None = None) -> str:
    """How a public reply greets the customer, never with personal data.

    The first word of the display name; when the name is (or holds) an e-mail address
    or a phone number, the handle instead (``@jane_d``; of a fediverse handle
    ``jane@example.social`` its local part); when that looks personal too, "there"
    ("Hi there, …"). On the networks whose handle is a display name or an id
    (``NAMED_NETWORKS``: "Tereza Malá", "2315682678452791") there is no @handle to fall
    back on: the handle is read as the name, and an anonymous author is "there".
    """
    name = " ".join((author.name or "").split())
    handle = (author.handle or "").strip()
    if network in NAMED_NETWORKS:
        if not name and handle != ANONYMOUS and not handle.isdigit():
            name = " ".join(handle.split())
        handle = ""
    first = name.split(" ")[0] if name else ""
    if first and not _personal(config, name, digits=3):
        return first
    handle = handle.lstrip("@").split("@")[0]
    if handle and not _personal(config, handle, digits=9):  # "user8372" is a handle
        return f"@{handle}"
    return "there"


def compose(
    config: Config,
    head: Mapping[str, Any],
    target: Mention,
    agent: str,
    *,
    text: str | None,
    template: str | None,
    extra: Mapping[str, Any] | None = None,
    demo: bool = False,
    signed: bool = True,
) -> str:
    """The final public text: rendered, signed (``signed=False``: the body a composer
    starts from). Raises before anything is sent."""
    if (text is None) == (template is None):
        raise UsageError("give the reply TEXT or --template NAME (one of them)")
    if template is not None:
        known = templates(config)
        if template not in known:
            raise UsageError(
                f"unknown template {template!r}; known: {', '.join(sorted(known))} "
                '(add your own as [templates.NAME] text = "…")'
            )
        source, name = known[template]["text"], template
    else:
        assert text is not None
        source, name = text, "reply text"
    profile = agent_profile(config, agent, demo=demo)
    values = {**variables(config, head, target, profile), **(extra or {})}
    # What an agent typed is text (only {{ variable }} is filled); a template is rendered.
    body = (
        templating.render(source, values, name=name)
        if template is not None
        else templating.fill(source, values, name=name)
    )
    if not body:
        raise UsageError("the reply is empty; nothing was sent")
    return sign(body, signature(profile)) if signed else body


# --- where it goes -----------------------------------------------------------------------


def item_head(db: Store, ref: str | int) -> dict[str, Any]:
    row = resolve(db, ref)
    if row["kind"] == "brand":
        raise UsageError(f"mention {row['id']} is the brand's own post; there is nothing to answer")
    return resolve(db, row["item_id"] or row["id"])


def item_rows(db: Store, item_id: int) -> list[dict[str, Any]]:
    return r_sql.item_mentions(db, item_id)


def reply_target(db: Store, ref: str | int) -> tuple[dict[str, Any], dict[str, Any]]:
    """(queue item head, the row a reply answers): the item's newest open message."""
    head = item_head(db, ref)
    rows = item_rows(db, head["id"])
    return head, rows[-1] if rows else head


def to_mention(row: Mapping[str, Any]) -> Mention:
    created = from_db(row["created_at"])
    assert created is not None
    raw = json.loads(row["raw"]) if row.get("raw") else None
    return Mention(
        network=row["network"],
        native_id=row["native_id"],
        text=row["text"],
        created_at=created,
        author=Author(row["author_handle"], row["author_name"], row["author_followers"]),
        url=row["url"],
        lang=row["lang"],
        conversation_id=row["conversation_id"],
        in_reply_to=row["in_reply_to"],
        raw=raw,
    )


def is_replay(db: Store, row: Mapping[str, Any]) -> bool:
    """Did this mention come from a replay source (the demo, offline tests)?

    True when a query it was found by starts with ``replay:``, or when a file a replay
    source polled into this database holds it. Not merely because a replay source ever
    polled here: real mentions imported beside the demo's would be "answered" in the
    local outbox while the customer heard nothing.
    """
    sources = json.loads(row.get("sources") or "[]")
    if any(str(s) == "replay" or str(s).startswith("replay:") for s in sources):
        return True
    gid = row.get("global_id")
    return gid is not None and any(gid in replayed_ids(p) for p in r_sql.replay_paths(db))


REPLAY_SCAN_LIMIT = 64 * 1024 * 1024  # a larger replay file is not read for this check
DEMO_FILE = "demo_mentions.jsonl"


def replayed_ids(path_text: str) -> frozenset[str]:
    """The global ids of the mentions in a replay file (remembered while it is unchanged).

    The demo's sample moves with the installation; a cursor naming a sample that is gone
    (a venv rebuilt elsewhere) means the bundled one. An unreadable or huge file holds
    nothing: a reply then needs a real connector, the safe side."""
    path = Path(path_text)
    if path.name == DEMO_FILE and not path.is_file():
        from social_watch.demo import sample_path  # demo imports this module

        path = sample_path()
    try:
        st = path.stat()
    except OSError:
        return frozenset()
    if st.st_size > REPLAY_SCAN_LIMIT:
        return frozenset()
    return _ids_in(str(path), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _ids_in(path: str, size: int, mtime_ns: int) -> frozenset[str]:
    ids: set[str] = set()
    try:
        with open(path, "rb") as fh:
            for line in fh:
                try:
                    obj = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(obj, dict):
                    continue
                network, native = obj.get("network"), obj.get("id")
                if isinstance(network, str) and type(native) in (str, int):
                    ids.add(f"{network.strip().lower()}:{str(native).strip()}")
    except OSError:
        return frozenset()
    return frozenset(ids)


def connector_for(
    db: Store,
    config: Config,
    row: Mapping[str, Any],
    *,
    env: Mapping[str, str],
    clock: Callable[[], datetime],
) -> Connector:
    """A configured connector for the mention's network, else the replay one (demo)."""
    from social_watch import registry

    network = row["network"]
    names = sorted(config.connectors, key=lambda n: n != network)  # exact name first
    for name in names:
        options = config.connectors[name]
        cls = registry.load_class(name, options.get("class"))
        if cls.network == network:
            return registry.build(config, name, env=env, clock=clock)
    if is_replay(db, row):
        return registry.build(
            config, "replay", env=env, clock=clock, options=config.connectors.get("replay", {})
        )
    raise ConfigError(
        f"no connector configured for {network}: add a [connectors.{network}] section "
        "with its credentials (see `social-watch connectors`)"
    )


def ensure_identity(config: Config, agent: str) -> None:
    """A real reply (not the demo's replay) needs the brand's name and the agent's signed
    name configured: the demo's people and its placeholder brand never reach a customer."""
    missing = []
    if not config.brand_configured:
        missing.append('[brand] name = "Your Shop"')
    profile = config.agents.get(agent)
    if profile is None or not (profile.signature.strip() or profile.name.strip()):
        missing.append(f'[agents.{agent}] name = "Full Name" and signature = "^FN"')
    if missing:
        where = f" in {config.path}" if config.path else " in social-watch.toml (or --config)"
        raise ConfigError(
            f"a real reply is signed with the brand's and the agent's names: set "
            f"{' and '.join(missing)}{where}; nothing was sent"
        )


def ensure_writable(network: str, connector: Connector | None, item_id: int) -> None:
    if network in READ_ONLY_NETWORKS or (
        connector is not None and REPLY not in connector.capabilities
    ):
        raise ReadOnly(
            f"{network} is read-only: social-watch cannot reply there; move the thread to "
            f"e-mail with `social-watch to-email {item_id}`"
        )


# --- guards ------------------------------------------------------------------------------


def detector(config: Config) -> Any:
    from social_watch.sensitive import SensitiveDetector

    sens = config.section("sensitive") or {}
    kwargs: dict[str, Any] = {"strict": True}  # a public reply carries no identifier
    if sens.get("order_pattern"):
        kwargs["order_pattern"] = sens["order_pattern"]
    return SensitiveDetector(**kwargs)


def brand_addresses(config: Config) -> set[str]:
    email = config.section("email") or {}
    out = {a.lower() for a in email.get("to") or ()}
    if email.get("from"):
        out.add(str(email["from"]).lower())
    return out


def personal_data(config: Config, text: str, *, reference: str | None = None) -> list[str]:
    """Personal data in a reply text ('email: a@b.example'), help-desk addresses and the
    hand-off's own reference code (SW-7Q2K, shared on purpose) excepted."""
    allowed = brand_addresses(config)
    found = []
    for f in detector(config).find(text):
        if f.kind == "email" and f.value.lower() in allowed:
            continue
        if reference and reference.lower() in f.value.lower():
            continue
        found.append(f"{f.kind.replace('_', ' ')} {f.value!r}")
    return found


def sensitive_reasons(rows: list[dict[str, Any]]) -> list[str]:
    reasons: list[str] = []
    for r in rows:
        reasons += [x for x in json.loads(r["sensitive_reasons"]) if x not in reasons]
    return reasons


def claim_holder(head: Mapping[str, Any], now: datetime) -> str | None:
    if head["status"] != "claimed" or not head["claimed_by"]:
        return None
    expires = from_db(head["claim_expires_at"])
    return head["claimed_by"] if expires is None or expires > now else None


def answered_by_other(db: Store, head: Mapping[str, Any], agent: str) -> tuple[str, str] | None:
    """(who, when) if someone other than ``agent`` answered since ``agent`` claimed it."""
    since = head["claimed_at"] if head["claimed_by"] == agent else None
    row = r_sql.first_answer_by_other(db, head["id"], agent, since)
    if row is not None:
        return str(row[0] or "someone"), str(row[1])
    by, at = head["first_response_by"], head["first_response_at"]
    if by and by != agent and (since is None or (at and at >= since)):
        return str(by), str(at)
    return None


def last_answer(
    db: Store, item_id: int, rows: list[dict[str, Any]]
) -> tuple[str, datetime, str] | None:
    """(who, when, text) of the brand's last public answer, if no customer wrote since."""
    row = r_sql.last_action(db, item_id, ("replied",))
    if row is None:
        return None
    at = from_db(row[1])
    newest = max((d for d in (from_db(r["created_at"]) for r in rows) if d), default=None)
    if at is None or (newest is not None and newest > at):
        return None
    try:
        text = str(json.loads(row[2] or "{}").get("text") or "")
    except (ValueError, AttributeError):
        text = ""
    return str(row[0] or "someone"), at, text


def _closed_by(status: str, row: tuple[str | None, str, str | None] | None, now: datetime) -> str:
    """' as spam by tom 5 min ago', from the item's close action ('' parts it lacks)."""
    if row is None:
        return f" ({status})"
    agent, at, details = row
    try:
        info = json.loads(details or "{}")
    except ValueError:
        info = {}
    why = info.get("reason") if status == "dismissed" else None
    note = info.get("note")
    text = f" as {why}" if why else f" ({status})"
    when = from_db(at)
    text += f" by {agent or 'someone'}" + (f" {_ago(when, now)}" if when else "")
    if note:
        text += f": '{note if len(note) <= 40 else note[:40].rstrip() + '…'}'"
    return text


def _ago(then: datetime, now: datetime) -> str:
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"


def overrides_for(force: bool, overrides: Collection[str] = ()) -> frozenset[str]:
    """The guards to skip: ``force`` is every guard (the CLI's --force), else those named."""
    unknown = set(overrides) - set(GUARDS)
    if unknown:
        raise UsageError(
            f"unknown guard {', '.join(sorted(unknown))}: guards are {', '.join(GUARDS)}"
        )
    return frozenset(GUARDS) if force else frozenset(overrides)


def check_guards(
    db: Store,
    config: Config,
    draft: Draft,
    *,
    now: datetime,
    force: bool = False,
    overrides: Collection[str] = (),
    check_sensitive: bool,
) -> None:
    """Every refusal, in the order an agent can act on them, as :class:`Refused` naming its
    guard; a guard in ``overrides`` is skipped (``force`` skips them all)."""
    skip = overrides_for(force, overrides)
    if skip >= set(GUARDS):
        return
    head = resolve(db, draft.item_id)
    rows = item_rows(db, draft.item_id)
    item = draft.item_id
    if check_sensitive and "sensitive" not in skip:
        reasons = sensitive_reasons(rows)
        if reasons:
            raise Refused(
                f"mention {item} looks private ({', '.join(reasons)})",
                guard="sensitive",
                item_id=item,
            )
    leaks = personal_data(config, draft.text, reference=draft.reference)
    if leaks and "personal_data" not in skip:
        raise Refused(
            f"the reply contains personal data ({'; '.join(leaks)}): personal details never "
            "go out in public",
            guard="personal_data",
            item_id=item,
            variant="note" if draft.kind == "handoff" else None,
        )
    answer = last_answer(db, draft.item_id, rows)
    if answer and "answered" not in skip:
        who, at, text = answer
        start = text if len(text) <= 40 else text[:40].rstrip() + "…"
        raise Refused(
            f"mention {item} was already answered by {who} {_ago(at, now)}: '{start}'",
            guard="answered",
            item_id=item,
            holder=who,
        )
    if head["status"] in ("done", "dismissed") and "closed" not in skip:
        closer = r_sql.last_action(db, head["id"], ("done", "dismissed"))
        raise Refused(
            f"mention {item} was closed{_closed_by(head['status'], closer, now)}",
            guard="closed",
            item_id=item,
            holder=(closer[0] or None) if closer else None,
        )
    holder = claim_holder(head, now)
    if holder and holder != draft.agent and "claimed" not in skip:
        raise Refused(
            f"mention {item} is claimed by {holder} until {head['claim_expires_at']}",
            guard="claimed",
            item_id=item,
            holder=holder,
            until=head["claim_expires_at"],
        )
    other = answered_by_other(db, head, draft.agent)
    if other and "answered" not in skip:
        who, when = other
        raise Refused(
            f"mention {item} was already answered by {who} at {when}",
            guard="answered",
            item_id=item,
            holder=who,
            variant="again",
        )


# --- the whole flow ---------------------------------------------------------------------


def prepare(
    db: Store,
    config: Config,
    ref: str | int,
    agent: str,
    *,
    text: str | None = None,
    template: str | None = None,
    env: Mapping[str, str],
    now: datetime,
    clock: Callable[[], datetime],
    force: bool = False,
    overrides: Collection[str] = (),
    kind: str = "reply",
    reference: str | None = None,
) -> tuple[Draft, Connector]:
    """Compose and check a reply; nothing is written. Raises with the reason to stop."""
    head, target_row = reply_target(db, ref)
    target = to_mention(target_row)
    ensure_writable(target.network, None, head["id"])
    connector = connector_for(db, config, target_row, env=env, clock=clock)
    ensure_writable(target.network, connector, head["id"])
    demo = connector.network == "replay"  # the demo's offline connector posts nowhere
    if not demo:
        ensure_identity(config, agent)
    extra = {"reference": reference} if reference else None
    body = compose(
        config, head, target, agent, text=text, template=template, extra=extra, demo=demo
    )
    n, limit = check_length(target.network, body)
    draft = Draft(
        item_id=head["id"],
        mention=target,
        mention_id=target_row["id"],
        network=target.network,
        connector=connector.name,
        agent=agent,
        kind=kind,
        text=body,
        count=n,
        limit=limit,
        template=template,
        reference=reference,
    )
    check_guards(
        db,
        config,
        draft,
        now=now,
        force=force,
        overrides=overrides,
        check_sensitive=kind == "reply",
    )
    if outbox.unresolved(db, head["id"]):
        draft.warnings.append(
            "an earlier reply to this item has no confirmed outcome; it is checked on the "
            "network before anything new is posted"
        )
    return draft, connector


def settle_earlier(
    db: Store,
    item_id: int,
    connector: Connector,
    *,
    clock: Callable[[], datetime],
) -> tuple[outbox.SendResult | None, dict[str, Any] | None]:
    """Reconcile the item's unfinished reply before a new one: (sent, to_replace).

    ``sent``: the earlier reply was found on the network (the new one must not go out).
    ``to_replace``: the unfinished row the new reply takes the place of. Refuses (Conflict)
    while a live process sends it, while the network cannot be asked, and, on a network
    that ignores idempotency keys, while an earlier attempt may still appear there (it is
    left 'unknown' for `outbox retry`). On a network that honours keys the new reply
    reuses the earlier key, so the earlier request landing late cannot make a second post.
    """
    now = clock()
    to_replace: dict[str, Any] | None = None
    for row in outbox.unresolved(db, item_id):
        if row["status"] in ("pending", "sending") and outbox.owner_alive(row, now):
            raise outbox.in_flight(item_id, (row["id"], row["agent"], row["status"], row["owner"]))
        mention = to_mention(resolve(db, row["mention_id"]))
        if row["attempts"] == 0:
            to_replace = _close_or_keep(db, row, to_replace, "never attempted")
            continue
        try:
            found = connector.find_reply(mention, outbox.network_key(row))
        except Exception as exc:
            raise Conflict(
                f"cannot tell whether earlier reply {row['id']} was posted ({exc}); "
                "nothing new was sent: run `social-watch outbox retry` later"
            ) from None
        if found is not None:
            return outbox.mark_sent(db, row, found, now=clock(), reconciled=True), None
        if not outbox.keyed(connector) and outbox.may_still_land(row, now):
            _hold_unknown(db, row)
            at = outbox.settles_at(row)
            raise outbox.InFlight(
                f"earlier reply {row['id']} is not on {connector.network} yet but may still "
                f"appear ({connector.network} ignores idempotency keys); nothing new was sent: "
                f"run `social-watch outbox retry` after {at:%H:%M:%S} UTC"
                if at
                else f"earlier reply {row['id']} may still appear; nothing new was sent",
                outbox_id=row["id"],
                until=at,
            )
        to_replace = _close_or_keep(db, row, to_replace, "not found on the network")
    return None, to_replace


def _close_or_keep(
    db: Store,
    row: dict[str, Any],
    kept: dict[str, Any] | None,
    why: str,
) -> dict[str, Any]:
    """The newest unfinished row is replaced by the new reply (with its key); older
    leftovers (databases from before one-per-item) are closed here."""
    if kept is not None:
        outbox.supersede(db, kept, f"{why}; replaced by a newer reply")
    return row


def _hold_unknown(db: Store, row: dict[str, Any]) -> None:
    """A dead sender's row whose request may still land: say 'unknown', not 'sending'."""
    with dbmod.write(db):
        r_sql.hold_unknown(db, row["id"], row["attempts"], "its sender stopped mid-post")


def send(
    db: Store,
    config: Config,
    draft: Draft,
    connector: Connector,
    *,
    clock: Callable[[], datetime],
    force: bool = False,
    overrides: Collection[str] = (),
) -> outbox.SendResult:
    """Record, post, mark. Re-checks the guards inside the recording transaction."""
    queued = enqueue(db, config, draft, connector, clock=clock, force=force, overrides=overrides)
    if isinstance(queued, outbox.SendResult):
        return queued
    return outbox.send(db, queued, connector, draft.mention, clock=clock)


def enqueue(
    db: Store,
    config: Config,
    draft: Draft,
    connector: Connector,
    *,
    clock: Callable[[], datetime],
    force: bool = False,
    overrides: Collection[str] = (),
) -> outbox.SendResult | dict[str, Any]:
    """Settle the item's earlier reply and commit this one's outbox row, guards re-checked.

    The row (to post with ``outbox.send``) or, when an earlier reply of the same kind
    turned out to be on the network already, that one's result. The web inbox posts the
    row from a worker so that the request answers at once; the CLI posts it right away.
    """
    earlier, to_replace = settle_earlier(db, draft.item_id, connector, clock=clock)
    if earlier is not None and earlier.kind == draft.kind:
        return earlier
    now = clock()
    fields: dict[str, Any] = {
        "mention_id": draft.mention_id,
        "kind": draft.kind,
        "agent": draft.agent,
        "network": draft.network,
        "text": draft.text,
        "now": now,
        "reference": draft.reference,
    }
    with dbmod.write(db):
        # The guards again, now under the write lock: a colleague may have replied meanwhile.
        check_guards(
            db, config, draft, now=now, force=force, overrides=overrides, check_sensitive=False
        )
        if to_replace is not None:
            # Closed and succeeded in one transaction; refused if someone took it meanwhile.
            row = outbox.replace(
                db,
                to_replace,
                reuse_key=to_replace["attempts"] > 0 and outbox.keyed(connector),
                **fields,
            )
        else:
            # A reply recorded since settle_earlier is a colleague's (or a second run's)
            # send in progress: the unique index on the item's unresolved row refuses it.
            row = outbox.record(db, **fields)
    return row


def retry_all(
    db: Store,
    config: Config,
    *,
    env: Mapping[str, str],
    clock: Callable[[], datetime],
) -> list[outbox.SendResult]:
    """`outbox retry`: settle every unfinished row (find first, post only if absent)."""
    results = []
    for row in outbox.unresolved(db):
        mention_row = resolve(db, row["mention_id"])
        try:
            connector = connector_for(db, config, mention_row, env=env, clock=clock)
        except ConfigError as exc:
            results.append(outbox._result(row, error=str(exc)))
            continue
        try:
            results.append(outbox.send(db, row, connector, to_mention(mention_row), clock=clock))
        finally:
            connector.close()
    return results
