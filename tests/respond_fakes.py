"""A fake X connector for the reply tests, selected by ``[connectors.fakex] class = …``.

Its "network" is a folder (option ``remote``): ``posts.jsonl`` holds what was really
posted; ``script.json`` lists what each ``reply`` call does, in order (then "ok"):

    ok           post and return
    timeout      raise TransientError, nothing posted
    post_timeout post, then raise TransientError (the response was lost)
    post_error   post, then raise RuntimeError (a client bug after the request went out)
    crash        die (a BaseException) before posting
    post_crash   post, then die before returning
    refused      raise RateLimited, nothing posted
    block        print FAKE-READY and block on stdin before posting (a subprocess to kill)
    post_block   post, then print FAKE-READY and block on stdin

``find_script.json`` does the same for ``find_reply``: "ok" looks the key up, "error"
raises TransientError.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, ClassVar

from social_watch.connector import MENTIONS, REPLY, Connector, PollResult, PostedReply, Source
from social_watch.errors import RateLimited, TransientError
from social_watch.models import Mention


class Died(BaseException):
    """The process 'died' here: nothing after this line runs."""


def _pop(path: Path) -> str:
    steps = json.loads(path.read_text()) if path.exists() else []
    if not steps:
        return "ok"
    path.write_text(json.dumps(steps[1:]))
    return str(steps[0])


def posts(remote: Path) -> list[dict[str, Any]]:
    path = remote / "posts.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def script(remote: Path, steps: list[str], name: str = "script.json") -> None:
    remote.mkdir(parents=True, exist_ok=True)
    (remote / name).write_text(json.dumps(steps))


class FakeConnector(Connector):
    name = "fakex"
    network = "x"
    capabilities = frozenset({MENTIONS, REPLY})
    options: ClassVar[dict[str, str]] = {"remote": "folder that plays the network"}

    @property
    def remote(self) -> Path:
        path = Path(self.opts["remote"])
        path.mkdir(parents=True, exist_ok=True)
        return path

    def sources(self) -> list[Source]:
        return [Source(self.name, MENTIONS)]

    def poll(self, source: Source, cursor: Any) -> PollResult:
        return PollResult([], cursor)

    def _post(self, mention: Mention, text: str, key: str) -> PostedReply:
        n = len(posts(self.remote)) + 1
        with (self.remote / "posts.jsonl").open("a") as fh:
            fh.write(json.dumps({"key": key, "text": text, "to": mention.native_id, "n": n}) + "\n")
        return PostedReply(f"remote-{n}", f"https://x.example/status/remote-{n}")

    def reply(self, mention: Mention, text: str, key: str) -> PostedReply:
        step = _pop(self.remote / "script.json")
        if step == "timeout":
            raise TransientError("read timeout")
        if step == "refused":
            raise RateLimited("429 too many requests")
        if step == "crash":
            raise Died()
        if step == "block":
            _block()
        posted = self._post(mention, text, key)
        if step == "post_timeout":
            raise TransientError("read timeout after the request was sent")
        if step == "post_error":
            raise RuntimeError("client bug after posting")
        if step == "post_crash":
            raise Died()
        if step == "post_block":
            _block()
        return posted

    def find_reply(self, mention: Mention, key: str) -> PostedReply | None:
        if _pop(self.remote / "find_script.json") == "error":
            raise TransientError("search timed out")
        for p in posts(self.remote):
            if p["key"] == key:
                return PostedReply(f"remote-{p['n']}", f"https://x.example/status/remote-{p['n']}")
        return None


def _block() -> None:
    sys.stdout.write("FAKE-READY\n")
    sys.stdout.flush()
    sys.stdin.readline()  # the test kills us while we wait here
    raise Died()


# --- setup shared by the reply tests ----------------------------------------------------

CONFIG = """
[brand]
name = "Shop Example"
[brand.handles]
x = "shopexample"
[agents.jana]
name = "Jana Novak"
signature = "^JN"
[agents.tom]
name = "Tom Berger"
signature = "– Tom"
[connectors.fakex]
class = "respond_fakes:FakeConnector"
remote = "{remote}"
"""

EMAIL = """
[email]
host = "127.0.0.1"
port = {port}
security = "{security}"
from = "social-watch@shop.example"
to = ["care@shop.example"]
timeout = "5s"
"""


def write_config(tmp: Path, *, email_port: int | None = None, security: str = "none") -> Path:
    text = CONFIG.format(remote=tmp / "remote")
    if email_port is not None:
        text += EMAIL.format(port=email_port, security=security)
    path = tmp / "social-watch.toml"
    path.write_text(text, encoding="utf-8")
    return path
