"""Replay a JSON Lines file of normalized mentions (the `import` format) as if it were a network.

Used by the demo and by tests: it has every capability a real connector has (mentions,
reply) but posts into the local ``outbox`` only, so the whole care flow works offline.
Cursor: the number of lines already delivered, so a replay continues where it stopped.
Option ``relative = true`` reads ``minutes_ago`` instead of ``created_at`` (bundled demo).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

from social_watch.connector import (
    MENTIONS,
    REPLY,
    Connector,
    PollResult,
    PostedReply,
    Skipped,
    Source,
)
from social_watch.errors import ConfigError
from social_watch.importer import Rejected, mention_from_dict, read_jsonl
from social_watch.models import Mention

PAGE = 5000


class ReplayConnector(Connector):
    name = "replay"
    network = "replay"
    capabilities = frozenset({MENTIONS, REPLY})
    idempotent_replies = True  # the outbox row is the post: one per key
    options: ClassVar[dict[str, str]] = {
        "path": "the JSON Lines file to replay",
        "relative": "read minutes_ago instead of created_at (demo data)",
    }

    def _path(self) -> Path:
        path = self.opts.get("path")
        if not path:
            raise ConfigError('set path = "mentions.jsonl"', key="connectors.replay.path")
        return Path(path)

    def sources(self) -> list[Source]:
        return [Source(self.name, MENTIONS, str(self._path()))]

    def check(self) -> str:
        path = self._path()
        if not path.exists():
            raise ConfigError(f"{path} does not exist", key="connectors.replay.path")
        return f"replaying {path}"

    def poll(self, source: Source, cursor: Any) -> PollResult:
        done = int((cursor or {}).get("line", 0))
        mentions: list[Mention] = []
        skipped: list[Skipped] = []
        now = self.clock()
        relative = bool(self.opts.get("relative"))
        line_no = done
        with self._path().open("rb") as fh:
            for line_no, line in enumerate(fh, start=1):
                if line_no <= done:
                    continue
                if len(mentions) + len(skipped) >= PAGE:
                    line_no -= 1
                    break
                if relative:
                    try:
                        obj = json.loads(line)
                        created = now - timedelta(minutes=float(obj.pop("minutes_ago")))
                        mentions.append(mention_from_dict(obj, created_at=created))
                    except (ValueError, KeyError, TypeError, AttributeError) as exc:
                        skipped.append(Skipped(f"line {line_no}", str(exc)))
                    continue
                for item in read_jsonl([line]):
                    if isinstance(item, Rejected):
                        skipped.append(Skipped(f"line {line_no}", item.reason))
                    else:
                        mentions.append(item)
        more = len(mentions) + len(skipped) >= PAGE
        mentions = [Mention(**{**m.__dict__, "query": m.query or "replay"}) for m in mentions]
        return PollResult(mentions, {"line": line_no}, skipped, more=more)

    def reply(self, mention: Mention, text: str, key: str) -> PostedReply:
        # The outbox row (written by the core before this call) is the local "post".
        return PostedReply(remote_id=f"local-{key}", url=None)

    def find_reply(self, mention: Mention, key: str) -> PostedReply | None:
        return None
