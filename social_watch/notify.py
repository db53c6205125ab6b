"""Tell the team: a Slack-compatible webhook and/or e-mail, from one ``Notification``.

Used by watch-loop reminders, health notices and spike alerts. A channel that fails is
reported back (and logged) but never stops the others or the caller's loop.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from social_watch.config import Config
from social_watch.errors import SocialWatchError
from social_watch.redact import redact
from social_watch.secrets import resolve
from social_watch.untrusted import safe_url, slack

log = logging.getLogger("social_watch.notify")


@dataclass(frozen=True)
class Notification:
    title: str
    text: str
    url: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)

    def plain(self) -> str:
        lines = [self.title, "", self.text]
        lines += [f"{k}: {v}" for k, v in self.fields.items()]
        if self.url:
            lines.append(self.url)
        return "\n".join(lines)


@dataclass
class Delivery:
    delivered: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def channels(config: Config) -> list[str]:
    notify = config.section("notify")
    out = []
    if notify.get("webhook_url_env"):
        out.append("webhook")
    if notify.get("email_to") and config.section("email"):
        out.append("email")
    return out


def masked(config: Config, note: Notification) -> Notification:
    """``note`` with customer personal data masked, as the digest shows it ("[email]"),
    and every registered secret redacted."""
    from social_watch.sensitive import SensitiveDetector

    sens = config.section("sensitive") or {}
    kwargs: dict[str, Any] = {}
    if sens.get("order_pattern"):
        kwargs["order_pattern"] = sens["order_pattern"]
    detector = SensitiveDetector(**kwargs)

    def mask(text: str) -> str:  # and no registered secret leaves through a channel either
        return detector.mask(redact(text))

    return Notification(
        mask(note.title), mask(note.text), note.url, {k: mask(v) for k, v in note.fields.items()}
    )


def send(
    config: Config, env: Mapping[str, str], note: Notification, *, transport: Any = None
) -> Delivery:
    """Deliver ``note`` on every configured channel, personal data masked."""
    result = Delivery()
    note = masked(config, note)
    notify = config.section("notify")
    if notify.get("webhook_url_env"):
        try:
            _webhook(notify, env, note, transport=transport)
            result.delivered.append("webhook")
        except SocialWatchError as exc:
            result.failed["webhook"] = str(exc)
            log.warning("webhook notification failed: %s", exc)
    if notify.get("email_to") and config.section("email"):
        from social_watch import mailer

        try:
            s = mailer.settings(config, env)
            msg = mailer.build(
                sender=s.sender, to=list(notify["email_to"]), subject=note.title, text=note.plain()
            )
            mailer.send(s, msg)
            result.delivered.append("email")
        except SocialWatchError as exc:
            result.failed["email"] = str(exc)
            log.warning("e-mail notification failed: %s", exc)
    return result


def _webhook(
    notify: Mapping[str, Any], env: Mapping[str, str], note: Notification, *, transport: Any
) -> None:
    from connectors import _http

    secret = resolve(notify, "webhook_url", env=env, where="notify")
    assert secret is not None
    url = secret.reveal()
    text = f"*{slack(note.title)}*\n{slack(note.text)}"
    if note.fields:
        text += "\n" + "\n".join(f"{slack(k)}: {slack(v)}" for k, v in note.fields.items())
    link = safe_url(note.url)
    if link:
        text += f"\n<{slack(link)}>"
    # The URL is the secret (its path holds the token): errors name only the status.
    # Post to the URL exactly as configured: as a base_url httpx would add a trailing "/".
    with _http.client("", transport=transport) as http:
        try:
            response = http.post(url, json={"text": text})
        except Exception as exc:
            raise SocialWatchError(f"webhook POST failed: {type(exc).__name__}") from None
    if response.status_code >= 400:
        raise SocialWatchError(f"webhook POST answered {response.status_code}")
