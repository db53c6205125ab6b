"""Deterministic generators of realistic social-watch data for the benchmarks.

Two entry points:

``write_jsonl(path, n, *, seed=1, days=30, now=None)``
    Streams ``n`` lines in the ``social-watch import`` format to ``path`` (memory flat, so
    2,000,000 lines are fine). Returns ``n``.

``build_db(path, n, *, seed=1, days=30, open_share=0.02, now=None)``
    Builds a migrated social-watch SQLite database of ``n`` mentions directly, without the
    pipeline: fully formed rows go in with ``executemany`` (indexes are dropped during the
    load and recreated from the migrations' own SQL afterwards, so the schema is exactly
    what ``social_watch.db.connect`` makes). 1,000,000 rows take about half a minute.
    Returns a dict of counts (mentions, open items, actions, ...).

Both are deterministic for a given ``seed``, ``n`` and ``days``. Only the timestamps move
with ``now`` (default: the current UTC time, to the second), so a queue built "now" has
items that are at risk, urgent and breached; pass ``now`` for byte-identical output.

What the stream looks like (both functions draw from the same stream)
------------------------------------------------------------------------
- **Time**: ``created_at`` in chronological order, evenly spread (with jitter) over the
  last ``days`` days, ending just before ``now``.
- **Networks**: x 40 %, reddit 18 %, mastodon 12 %, bluesky 12 %, hackernews 8 %, rss 10 %,
  each with its own id and url shapes (snowflakes, ``t3_``/``t1_``, ``at://`` URIs, ...).
- **Authors**: a pool of about ``n / 4`` handles (Zipf-like: some write often), display
  names, followers drawn from a heavy-tailed distribution (about 1 % have 10,000+, the
  ``vip`` threshold).
- **Texts**: ~25 templates in 11 care categories (undelivered order, billing, refund,
  broken product, account / login, question, discount, praise, neutral news/blog, spam,
  and sensitive ones carrying e-mail addresses or phone numbers), filled from random
  fragments (products, order numbers, durations, greetings, sign-offs, emoji, @handle or
  plain brand name), so no two texts need be equal. Lengths 40–280 characters.
- **Language**: ~5 % non-English (de, cs, es, fr, nl, pl) with ``lang`` set; about half
  of the English lines carry ``lang: "en"``, the rest none (as on reddit, hackernews, rss).
- **Threads**: ~6 % are follow-ups by the same author in a recent conversation
  (``conversation_id`` and ``in_reply_to`` set: "still waiting?"); ~3 % are brand replies
  (the brand's handle on x, reddit, mastodon or bluesky, replying to a recent mention);
  ~1 % are reposts (``repost: true``, "RT ..."). Roots on x, bluesky and reddit carry
  their own ``conversation_id``.
- ``query`` names the stream that found it (``mentions``, ``"shop example"``, ...).

What ``build_db`` adds per row (mentions table)
-------------------------------------------------
- ``kind``: ``brand`` for brand replies (status ``done``), ``mention`` otherwise. Reposts
  are skipped, as the pipeline would.
- ``sentiment_label``/``sentiment_compound``: drawn per category (complaint-like
  categories ~85 % negative, praise ~85 % positive, the rest mostly neutral);
  non-English rows are ``unknown`` with compound 0.0. ~0.5 % carry an agent's
  ``sentiment_override`` (with a ``labelled`` action).
- ``tags`` from the category (complaint, undelivered, order, billing, question,
  discount, review) plus ``vip`` for 10,000+ followers; ``sensitive_reasons`` for
  templates with e-mail/phone/order numbers and private topics (refund, billing,
  password, account).
- ``status``: about ``open_share`` of the mentions are ``open`` (75 %) or ``claimed``
  (25 %, a tenth of the claims expired), ``item_id = id``: every mention of the last 45
  minutes (ok, at risk, urgent, just breached), 60 % of the most recent ``1.5 *
  open_share`` of rows (a backlog of hours), the rest scattered back over the whole span
  (long breached). Follow-ups of an open item join it (``item_id`` = its head, same
  ``thread_key``). Of the rest: ~8 % ``dismissed``, ~10 % ``done``, ~1 % ``moved_to_email``
  (sensitive only), the others ``answered`` with ``first_response_at`` 2 minutes to a few
  hours after ``created_at`` (log-normal, median ~20 minutes) by one of 8 agents.
- ``due_at`` = ``created_at`` + 30 minutes (the default target).
- ``actions``: ``replied`` for every answered mention, ``done``/``dismissed``/
  ``moved_to_email`` for those, ``claimed`` for claimed items, ``labelled`` for
  overrides: a little under one action per mention.
- ``raw`` is the import object as JSON, ``sources`` the query list, as ``import`` stores them.

Run as a script to try it: ``python bench/gen.py jsonl out.jsonl 1000`` or
``python bench/gen.py db out.db 1000000``.
"""

from __future__ import annotations

import functools
import json
import math
import operator
import random
import sqlite3
import string
import sys
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

NETWORKS = ("x", "reddit", "mastodon", "bluesky", "hackernews", "rss")
NETWORK_WEIGHTS = (40, 18, 12, 12, 8, 10)
BRAND_HANDLES = {
    "x": "shopexample",
    "reddit": "shopexample",
    "mastodon": "shopexample@mastodon.social",
    "bluesky": "shopexample.bsky.social",
}
# A config that knows these handles, for benchmarks that go through the pipeline.
CONFIG_TOML = """\
[brand]
name = "Shop Example"
handles = { x = "shopexample", mastodon = "shopexample@mastodon.social", \
bluesky = "shopexample.bsky.social", reddit = "shopexample" }
keywords = ["shop example", "shopexample"]
"""
QUERIES = {
    "x": ("mentions", '"shop example"', "shopexample"),
    "reddit": ('"shop example"', "inbox"),
    "mastodon": ("mentions", "#shopexample"),
    "bluesky": ('"shop example"', "mentions"),
    "hackernews": ('"shop example"',),
    "rss": ("google-alerts: shop example", "rss: retailnews"),
}
AGENTS = ("jana", "petr", "lucie", "tomas", "eva", "martin", "klara", "ondrej")
TARGET = timedelta(minutes=30)

# --- fragments ---------------------------------------------------------------------------

_BRAND = ("@shopexample", "@ShopExample", "Shop Example", "shop example", "shopexample")
_GREET = ("", "", "", "hi ", "Hi, ", "hello ", "hey ", "Dear Shop Example, ", "ok so ")
_PRODUCTS = (
    "Ridgeline jacket",
    "merino beanie",
    "trail runners",
    "rain shell",
    "wool socks",
    "down vest",
    "canvas tote",
    "hiking boots",
    "fleece hoodie",
    "travel backpack",
    "linen shirt",
    "yoga leggings",
    "kids' parka",
    "gift card",
)
_DURATIONS = (
    "2 weeks",
    "10 days",
    "three weeks",
    "a month",
    "5 business days",
    "over a week",
    "6 days",
)
_SIGN = ("", "", "", " thanks", " Thanks!", " 🙄", " 😡", " smh", " ...", " pls", " #fail")
_POS_SIGN = ("", " 🙌", " ❤️", " 10/10", " thanks!", " #happycustomer", " 😊")
_COUNTRIES = ("Canada", "Ireland", "Norway", "Australia", "Czechia", "Japan", "Mexico")
_SIZES = ("XL", "XS", "size 12", "EU 44", "petite", "tall")
_PRAISE = (
    "absolutely love it",
    "fits perfectly",
    "quality is amazing",
    "best purchase this year",
    "super fast delivery",
    "the support team sorted it in minutes",
    "great service as always",
)
_DEFECT = (
    "fell apart",
    "ripped at the seam",
    "lost its colour",
    "pilled",
    "zip broke",
    "sole came off",
    "started leaking",
)
_SPAM = (
    "crypto signals",
    "free followers",
    "giveaway! click the link in bio",
    "cheap watches at luxe-deals dot biz",
)
_NEWS = (
    "opens a new store in {city}",
    "announces a repair programme for the {product}",
    "Q3 results: online sales up {num}%",
    "recalls a batch of the {product}",
    "is hiring {num} people for its warehouse",
)
_CITIES = ("Prague", "Berlin", "Leeds", "Portland", "Lyon", "Utrecht", "Kraków")
_MAIL = ("gmail.com", "seznam.cz", "outlook.com", "proton.me", "yahoo.co.uk")
_FIRST = ("anna", "ben", "carla", "dave", "eliska", "farid", "greta", "hugo", "ivy", "jakub")

# (category, weight, templates)
_TEMPLATES: tuple[tuple[str, int, tuple[str, ...]], ...] = (
    (
        "undelivered",
        18,
        (
            "{greet}{brand} my order {order} still hasn't arrived after {dur}.{sign}",
            "{greet}{brand} where is my order?? ordered the {product} {dur} ago, tracking "
            "hasn't moved{sign}",
            "{greet}{brand} still waiting for {order}. no reply to my emails either{sign}",
            "{brand} parcel marked delivered but nothing here. order {order}{sign}",
        ),
    ),
    (
        "billing",
        8,
        (
            "{greet}{brand} I was charged twice for order {order}, please fix{sign}",
            "{brand} why is there a second payment on my card for the {product}?{sign}",
            "{greet}{brand} you took my money and cancelled the order?? {order}{sign}",
        ),
    ),
    (
        "refund",
        8,
        (
            "{greet}{brand} returned the {product} {dur} ago, still no refund{sign}",
            "{brand} when will my refund for {order} come through? it's been {dur}{sign}",
        ),
    ),
    (
        "broken",
        10,
        (
            "{brand} my {product} {defect} after {dur}. really disappointed{sign}",
            "{greet}{brand} received a damaged {product}, box was crushed{sign}",
            "{brand} the {product} {defect} on the first day. poor quality{sign}",
        ),
    ),
    (
        "account",
        5,
        (
            "{greet}{brand} can't log in to my account, password reset email never comes{sign}",
            "{brand} app keeps crashing at checkout, lost my basket twice{sign}",
        ),
    ),
    (
        "question",
        14,
        (
            "{greet}{brand} do you ship to {country}?",
            "{greet}{brand} does the {product} come in {size}?",
            "{brand} are you open on Sunday in {city}?",
            "{greet}{brand} can I change the delivery address on {order}?",
        ),
    ),
    (
        "discount",
        5,
        (
            "{greet}{brand} any discount codes for students?",
            "is the {brand} black friday sale on the {product} too?",
        ),
    ),
    (
        "praise",
        16,
        (
            "just got my {product} from {brand}, {praise}{psign}",
            "{brand} {praise}! the {product} is perfect{psign}",
            "shoutout to {brand}, {praise}{psign}",
        ),
    ),
    ("news", 8, ("{brand} {news}", "Blog: what {brand}'s {product} teaches us about returns")),
    ("spam", 3, ("{brand} {spam}", "{spam} {brand} {brand}")),
    (
        "sensitive",
        5,
        (
            "{greet}{brand} please email me at {email} about order {order}{sign}",
            "{brand} call me on {phone}, the {product} never arrived{sign}",
        ),
    ),
)
_CATEGORIES = tuple(c for c, _w, _t in _TEMPLATES)
_CAT_WEIGHTS = tuple(w for _c, w, _t in _TEMPLATES)
_CAT_TEMPLATES = {c: t for c, _w, t in _TEMPLATES}

_FOLLOW_UPS = (
    "{brand} still waiting...",
    "any update?? {order}",
    "hello?? is anyone there{sign}",
    "still nothing {dur} later{sign}",
    "ok thanks, that worked",
    "{brand} DM sent",
)
_BRAND_REPLIES = (
    "Hi {name}, sorry about this! Could you DM us your order number? ^{sig}",
    "Thanks for reaching out {name}, we've checked and your parcel is on its way. ^{sig}",
    "So glad you like it {name}! ^{sig}",
    "Hi {name}, yes we do. Details here: https://shop.example/help ^{sig}",
)
_FOREIGN = {
    "de": (
        "{brand} meine Bestellung {order} ist nach {n} Tagen immer noch nicht da",
        "{brand} tolle Jacke, sehr zufrieden!",
        "{brand} liefert ihr auch nach Österreich?",
    ),
    "cs": (
        "{brand} objednávka {order} pořád nedorazila, už {n} dní čekám",
        "{brand} skvělá bunda, moc děkuju!",
        "{brand} posíláte i na Slovensko?",
    ),
    "es": ("{brand} mi pedido {order} todavía no ha llegado", "{brand} me encanta la chaqueta"),
    "fr": ("{brand} ma commande {order} n'est toujours pas arrivée", "{brand} super service !"),
    "nl": ("{brand} mijn bestelling {order} is nog steeds niet aangekomen",),
    "pl": ("{brand} moje zamówienie {order} wciąż nie dotarło",),
}
_FOREIGN_LANGS = tuple(_FOREIGN)

# Per category: (sentiment weights negative/neutral/positive, tags, sensitive reasons)
_PROFILE: dict[str, tuple[tuple[int, int, int], tuple[str, ...], tuple[str, ...]]] = {
    "undelivered": ((88, 9, 3), ("complaint", "undelivered", "order"), ("order_number",)),
    "billing": ((90, 8, 2), ("complaint", "billing", "order"), ("order_number", "topic:billing")),
    "refund": ((85, 12, 3), ("complaint", "billing"), ("topic:refund",)),
    "broken": ((85, 10, 5), ("complaint", "review"), ()),
    "account": ((85, 12, 3), ("complaint",), ("topic:password", "topic:account")),
    "question": ((10, 80, 10), ("question",), ()),
    "discount": ((5, 75, 20), ("discount", "question"), ()),
    "praise": ((3, 12, 85), ("review",), ()),
    "news": ((15, 70, 15), (), ()),
    "spam": ((5, 60, 35), (), ()),
    "sensitive": ((70, 25, 5), ("order",), ("email", "order_number")),
    "follow_up": ((75, 20, 5), ("complaint",), ()),
    "brand": ((2, 38, 60), (), ()),
    "foreign": ((0, 0, 0), (), ()),
}
_LABELS = ("negative", "neutral", "positive")

# --- the stream --------------------------------------------------------------------------


@dataclass
class Post:
    """One generated line, with what build_db needs to know about it."""

    obj: dict[str, Any]
    category: str
    created: datetime
    root: Post | None = None  # the post this one follows up or answers


def _iso(t: datetime) -> str:
    """YYYY-MM-DDTHH:MM:SSZ, the database's form (isoformat is much faster than strftime)."""
    return t.isoformat()[:19] + "Z"


def _b36(i: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        i, r = divmod(i, 36)
        out = digits[r] + out
        if not i:
            return out


@functools.lru_cache(maxsize=256)
def _fields(template: str) -> frozenset[str]:
    return frozenset(name for _t, name, _s, _c in string.Formatter().parse(template) if name)


class _Stream:
    def __init__(self, n: int, seed: int, days: float, now: datetime | None):
        self.rng = random.Random(seed)
        self.n = n
        self.now = (now or datetime.now(UTC)).replace(microsecond=0)
        self.start = self.now - timedelta(days=days)
        self.step = days * 86400 / max(n, 1)
        self.pool = max(50, n // 4)
        self.recent: list[Post] = []
        self.brand_seq = 0

    def author(self) -> dict[str, Any]:
        rng = self.rng
        # Zipf-like: low numbers come up far more often
        k = int(self.pool ** rng.random()) - 1
        first = _FIRST[k % len(_FIRST)]
        handle = f"{first}_{_b36(k * 7919 % 1_000_003)}"
        followers = int(20 * rng.paretovariate(0.9))
        if followers > 5_000_000:
            followers = 5_000_000
        return {"handle": handle, "name": f"{first.title()} {_b36(k)[:3].upper()}", "f": followers}

    def fill(self, template: str) -> str:
        rng = self.rng
        need = _fields(template)  # only the fields a template uses are drawn, in one order
        f: dict[str, str] = {}
        if "brand" in need:
            f["brand"] = rng.choice(_BRAND)
        if "greet" in need:
            f["greet"] = rng.choice(_GREET)
        if "sign" in need:
            f["sign"] = rng.choice(_SIGN)
        if "psign" in need:
            f["psign"] = rng.choice(_POS_SIGN)
        if "order" in need:
            f["order"] = f"#{rng.randrange(100000, 999999)}"
        if "dur" in need:
            f["dur"] = rng.choice(_DURATIONS)
        if "product" in need or "news" in need:
            f["product"] = rng.choice(_PRODUCTS)
        if "country" in need:
            f["country"] = rng.choice(_COUNTRIES)
        if "size" in need:
            f["size"] = rng.choice(_SIZES)
        if "city" in need or "news" in need:
            f["city"] = rng.choice(_CITIES)
        if "praise" in need:
            f["praise"] = rng.choice(_PRAISE)
        if "defect" in need:
            f["defect"] = rng.choice(_DEFECT)
        if "spam" in need:
            f["spam"] = rng.choice(_SPAM)
        if "news" in need:
            f["news"] = rng.choice(_NEWS).format(
                city=f["city"], product=f["product"], num=rng.randrange(3, 40)
            )
        if "email" in need:
            f["email"] = f"{rng.choice(_FIRST)}.{rng.randrange(10, 99)}@{rng.choice(_MAIL)}"
        if "phone" in need:
            f["phone"] = (
                f"+420 {rng.randrange(600, 799)} {rng.randrange(100, 999)} "
                f"{rng.randrange(100, 999)}"
            )
        if "n" in need:
            f["n"] = str(rng.randrange(3, 21))
        return template.format_map(f)

    def ids(self, network: str, i: int, handle: str) -> tuple[str, str]:
        """(native id, url) for the i-th line."""
        if network == "x":
            nid = str(1_890_000_000_000_000_000 + i * 4096 + self.rng.randrange(4096))
            return nid, f"https://x.com/{handle}/status/{nid}"
        if network == "reddit":
            nid = f"t3_{_b36(i + 36**5)}"
            return nid, f"https://www.reddit.com/r/BuyItForLife/comments/{nid[3:]}/"
        if network == "mastodon":
            nid = str(113_000_000_000_000_000 + i)
            return nid, f"https://mastodon.social/@{handle}/{nid}"
        if network == "bluesky":
            tid = _b36(i + 36**9)
            nid = f"at://did:plc:{_b36(zlib.crc32(handle.encode()))}/app.bsky.feed.post/{tid}"
            return nid, f"https://bsky.app/profile/{handle}.bsky.social/post/{tid}"
        if network == "hackernews":
            nid = str(40_000_000 + i)
            return nid, f"https://news.ycombinator.com/item?id={nid}"
        nid = f"https://blog{i % 97}.example.com/posts/{i}"
        return nid, nid

    def __iter__(self) -> Iterator[Post]:
        rng = self.rng
        for i in range(self.n):
            created = self.start + timedelta(seconds=(i + rng.random()) * self.step)
            roll = rng.random()
            if roll < 0.06 and self.recent:
                yield self.follow_up(i, created)
            elif roll < 0.09 and self.recent:
                yield self.brand_reply(i, created)
            else:
                post = self.root_post(i, created, repost=roll > 0.99)
                if post.category not in ("news", "spam", "foreign") and not post.obj.get("repost"):
                    self.recent.append(post)
                    if len(self.recent) > 300:
                        del self.recent[:100]
                yield post

    def root_post(self, i: int, created: datetime, *, repost: bool = False) -> Post:
        rng = self.rng
        network = rng.choices(NETWORKS, NETWORK_WEIGHTS)[0]
        a = self.author()
        handle = a["handle"]
        if network == "mastodon":
            handle = f"{handle}@{rng.choice(('mastodon.social', 'fosstodon.org', 'mas.to'))}"
        elif network == "bluesky":
            handle = f"{handle}.bsky.social"
        elif network == "rss":
            handle = f"blog{i % 97}.example.com"
        nid, url = self.ids(network, i, a["handle"])
        lang: str | None
        if rng.random() < 0.05:
            lang = rng.choice(_FOREIGN_LANGS)
            category = "foreign"
            text = self.fill(rng.choice(_FOREIGN[lang]))
        else:
            if network in ("hackernews", "rss"):  # articles and comments, not care requests
                category = rng.choice(("news", "news", "news", "praise", "broken"))
            else:
                category = rng.choices(_CATEGORIES, _CAT_WEIGHTS)[0]
            text = self.fill(rng.choice(_CAT_TEMPLATES[category]))
            lang = "en" if network in ("x", "mastodon", "bluesky") and rng.random() < 0.8 else None
        if repost:
            text = f"RT @{self.author()['handle']}: {text}"
        obj: dict[str, Any] = {
            "network": network,
            "id": nid,
            "text": text,
            "created_at": _iso(created),
            "author": {"handle": handle, "name": a["name"]},
            "url": url,
        }
        if network not in ("rss", "hackernews"):
            obj["author"]["followers"] = a["f"]
        if lang:
            obj["lang"] = lang
        if network in ("x", "bluesky", "reddit"):
            obj["conversation_id"] = nid
        obj["query"] = rng.choice(QUERIES[network])
        if repost:
            obj["repost"] = True
        return Post(obj, category, created)

    def follow_up(self, i: int, created: datetime) -> Post:
        rng = self.rng
        root = rng.choice(self.recent)
        r = root.obj
        network = r["network"]
        nid, url = self.ids(network, i, r["author"]["handle"].split("@")[0].split(".")[0])
        obj: dict[str, Any] = {
            "network": network,
            "id": nid,
            "text": self.fill(rng.choice(_FOLLOW_UPS)),
            "created_at": _iso(created),
            "author": dict(r["author"]),
            "url": url,
            "conversation_id": r.get("conversation_id") or r["id"],
            "in_reply_to": r["id"],
            "query": r["query"],
        }
        if "lang" in r:
            obj["lang"] = r["lang"]
        return Post(obj, "follow_up", created, root)

    def brand_reply(self, i: int, created: datetime) -> Post:
        rng = self.rng
        root = rng.choice(self.recent)
        r = root.obj
        network = r["network"] if r["network"] in BRAND_HANDLES else "x"
        handle = BRAND_HANDLES[network]
        nid, url = self.ids(network, i, handle)
        name = r["author"]["name"].split()[0]
        text = rng.choice(_BRAND_REPLIES).format(name=name, sig=rng.choice(("JN", "PK", "LS")))
        obj: dict[str, Any] = {
            "network": network,
            "id": nid,
            "text": text,
            "created_at": _iso(created),
            "author": {"handle": handle, "name": "Shop Example", "followers": 48_200},
            "url": url,
            "lang": "en",
            "conversation_id": r.get("conversation_id") or r["id"],
            "in_reply_to": r["id"] if network == r["network"] else None,
            "query": rng.choice(QUERIES[network]),
        }
        if obj["in_reply_to"] is None:
            del obj["in_reply_to"]
        return Post(obj, "brand", created, root)


def iter_lines(n: int, *, seed: int = 1, days: float = 30, now: datetime | None = None):
    """The import-format objects, one by one (what write_jsonl writes)."""
    for post in _Stream(n, seed, days, now):
        yield post.obj


def write_jsonl(
    path: str | Path, n: int, *, seed: int = 1, days: float = 30, now: datetime | None = None
) -> int:
    """Write ``n`` import-format lines to ``path`` (streaming); returns ``n``."""
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    with open(path, "w", encoding="utf-8") as f:
        buf: list[str] = []
        for post in _Stream(n, seed, days, now):
            buf.append(dumps(post.obj))
            if len(buf) >= 10_000:
                f.write("\n".join(buf) + "\n")
                buf.clear()
        if buf:
            f.write("\n".join(buf) + "\n")
    return n


# --- the database ------------------------------------------------------------------------

_COLS = (
    "id",
    "global_id",
    "network",
    "native_id",
    "url",
    "author_handle",
    "author_name",
    "author_followers",
    "text",
    "lang",
    "created_at",
    "fetched_at",
    "conversation_id",
    "in_reply_to",
    "sources",
    "raw",
    "kind",
    "sentiment_label",
    "sentiment_compound",
    "sentiment_override",
    "tags",
    "sensitive",
    "sensitive_reasons",
    "status",
    "item_id",
    "thread_key",
    "due_at",
    "claimed_by",
    "claimed_at",
    "claim_expires_at",
    "first_response_at",
    "first_response_by",
    "closed_at",
)


def _sentiment(rng: random.Random, category: str) -> tuple[str, float]:
    if category == "foreign":
        return "unknown", 0.0
    label = rng.choices(_LABELS, _PROFILE[category][0])[0]
    if label == "negative":
        return label, -round(0.05 + rng.random() * 0.9, 4)
    if label == "positive":
        return label, round(0.05 + rng.random() * 0.9, 4)
    return label, round(rng.uniform(-0.049, 0.049), 4)


def build_db(
    path: str | Path,
    n: int,
    *,
    seed: int = 1,
    days: float = 30,
    open_share: float = 0.02,
    now: datetime | None = None,
) -> dict[str, int]:
    """Build a migrated database of ``n`` mentions at ``path`` (replaced if it exists)."""
    from social_watch import db as dbmod

    path = Path(path)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    dbmod.connect(path).conn.close()  # migrated exactly as the application does it

    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -200000")
    table_cols = {r[1] for r in conn.execute("PRAGMA table_info(mentions)")}
    cols = [c for c in _COLS if c in table_cols]
    idx = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        "AND tbl_name IN ('mentions', 'actions')"
    ).fetchall()
    for name, _sql in idx:
        conn.execute(f"DROP INDEX {name}")

    rng = random.Random(seed * 7_919 + 17)
    stream = _Stream(n, seed, days, now)
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    recent_cut = n * (1 - 1.5 * open_share)
    p_recent = 0.6
    fresh_cut = now - timedelta(minutes=45)
    p_old = 0.1 * open_share / max(1e-9, 1 - 1.5 * open_share)
    open_heads: dict[str, int] = {}  # thread_key -> head row id, of open items
    rows: list[tuple[Any, ...]] = []
    actions: list[tuple[Any, ...]] = []
    stats = dict.fromkeys(
        ("mentions", "brand", "open_items", "open_rows", "claimed", "actions", "reposts"), 0
    )
    placeholders = ", ".join("?" for _ in cols)
    insert = f"INSERT INTO mentions ({', '.join(cols)}) VALUES ({placeholders})"
    insert_action = (
        "INSERT INTO actions (mention_id, action, agent, at, details) VALUES (?, ?, ?, ?, ?)"
    )
    pick = operator.itemgetter(*cols)
    cached_dumps = functools.lru_cache(maxsize=4096)(lambda v: dumps(list(v)))
    row_id = 0
    conn.execute("BEGIN")
    for i, post in enumerate(stream):
        o = post.obj
        if o.get("repost"):
            stats["reposts"] += 1
            continue
        row_id += 1
        network = o["network"]
        gid = f"{network}:{o['id']}"
        created_s = o["created_at"]
        a = o["author"]
        kind = "brand" if post.category == "brand" else "mention"
        label, compound = _sentiment(rng, post.category)
        prof = _PROFILE[post.category]
        tags = list(prof[1])
        if (a.get("followers") or 0) >= 10_000 and kind == "mention":
            tags.append("vip")
        reasons = list(prof[2]) if kind == "mention" else []
        override = None
        rec: dict[str, Any] = {
            "status": "done",
            "item_id": row_id,
            "thread_key": None,
            "due_at": None,
            "claimed_by": None,
            "claimed_at": None,
            "claim_expires_at": None,
            "first_response_at": None,
            "first_response_by": None,
            "closed_at": created_s,
        }
        if kind == "mention":
            stats["mentions"] += 1
            key = f"{network}|{o.get('conversation_id') or o['id']}|{a['handle'].lower()}"
            rec["thread_key"] = key
            rec["due_at"] = _iso(post.created + TARGET)
            head = open_heads.get(key) if post.root is not None else None
            if head is not None or post.created >= fresh_cut:
                is_open = True  # the last 45 minutes are not answered yet
            else:
                is_open = rng.random() < (p_recent if i >= recent_cut else p_old)
            if is_open:
                stats["open_rows"] += 1
                rec["closed_at"] = None
                if head is None:
                    stats["open_items"] += 1
                    open_heads[key] = row_id
                    if rng.random() < 0.25:
                        stats["claimed"] += 1
                        agent = rng.choice(AGENTS)
                        expired = rng.random() < 0.1
                        claimed = now - timedelta(minutes=rng.uniform(1, 25))
                        expires = now + timedelta(minutes=-5 if expired else rng.uniform(1, 29))
                        rec.update(
                            status="claimed",
                            claimed_by=agent,
                            claimed_at=_iso(claimed),
                            claim_expires_at=_iso(expires),
                        )
                        actions.append((row_id, "claimed", agent, _iso(claimed), "{}"))
                    else:
                        rec["status"] = "open"
                else:
                    # a follow-up joins its open item, with the head's claim
                    rec["item_id"] = head
                    rec["status"] = "open"
            else:
                roll = rng.random()
                agent = rng.choice(AGENTS)
                if roll < 0.08:
                    at = post.created + timedelta(minutes=rng.lognormvariate(3, 1))
                    rec.update(status="dismissed", closed_at=_iso(at))
                    reason = rng.choice(("spam", "no-reply-needed", "duplicate", "other"))
                    actions.append(
                        (row_id, "dismissed", agent, _iso(at), f'{{"reason":"{reason}"}}')
                    )
                elif roll < 0.18:
                    at = post.created + timedelta(minutes=rng.lognormvariate(3, 1))
                    rec.update(status="done", closed_at=_iso(at))
                    actions.append((row_id, "done", agent, _iso(at), '{"from":"open"}'))
                else:
                    minutes = min(2 + rng.lognormvariate(math.log(18), 1.0), 60 * 24)
                    at_s = _iso(post.created + timedelta(minutes=minutes))
                    status = "moved_to_email" if reasons and roll > 0.9 else "answered"
                    rec.update(
                        status=status,
                        first_response_at=at_s,
                        first_response_by=agent,
                        closed_at=at_s,
                    )
                    actions.append(
                        (row_id, "replied", agent, at_s, f'{{"native":false,"remote_id":"r{i}"}}')
                    )
                    if status == "moved_to_email":
                        actions.append((row_id, "moved_to_email", agent, at_s, "{}"))
            if rng.random() < 0.005 and label != "unknown":
                override = rng.choice(_LABELS)
                actions.append(
                    (
                        row_id,
                        "labelled",
                        rng.choice(AGENTS),
                        _iso(post.created + timedelta(hours=1)),
                        f'{{"sentiment":"{override}","model":"{label}"}}',
                    )
                )
        else:
            stats["brand"] += 1
        fetched = _iso(post.created + timedelta(seconds=5 + (i % 50)))
        full: dict[str, Any] = {
            "id": row_id,
            "global_id": gid,
            "network": network,
            "native_id": o["id"],
            "url": o.get("url"),
            "author_handle": a["handle"],
            "author_name": a.get("name"),
            "author_followers": a.get("followers"),
            "text": o["text"],
            "lang": o.get("lang"),
            "created_at": created_s,
            "fetched_at": fetched,
            "conversation_id": o.get("conversation_id"),
            "in_reply_to": o.get("in_reply_to"),
            "sources": cached_dumps((o["query"],)),
            "raw": dumps(o),
            "kind": kind,
            "sentiment_label": label,
            "sentiment_compound": compound,
            "sentiment_override": override,
            "tags": cached_dumps(tuple(tags)),
            "sensitive": int(bool(reasons)),
            "sensitive_reasons": cached_dumps(tuple(reasons)),
            **rec,
        }
        rows.append(pick(full))
        if len(rows) >= 20_000:
            conn.executemany(insert, rows)
            rows.clear()
        if len(actions) >= 20_000:
            conn.executemany(insert_action, actions)
            stats["actions"] += len(actions)
            actions.clear()
    if rows:
        conn.executemany(insert, rows)
    if actions:
        conn.executemany(insert_action, actions)
        stats["actions"] += len(actions)
    conn.execute("COMMIT")
    for _name, sql in idx:
        conn.execute(sql)
    conn.close()
    return stats


def main(argv: list[str] | None = None) -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=("jsonl", "db"))
    ap.add_argument("path")
    ap.add_argument("n", type=int)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--days", type=float, default=30)
    ap.add_argument("--open-share", type=float, default=0.02)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    if args.what == "jsonl":
        write_jsonl(args.path, args.n, seed=args.seed, days=args.days)
        print(f"wrote {args.n} lines to {args.path} in {time.perf_counter() - t0:.1f}s")
    else:
        stats = build_db(
            args.path, args.n, seed=args.seed, days=args.days, open_share=args.open_share
        )
        print(f"built {args.path} in {time.perf_counter() - t0:.1f}s: {stats}")


if __name__ == "__main__":
    main()
