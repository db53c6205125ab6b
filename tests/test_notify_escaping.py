"""Customer text in a Slack-compatible webhook: escaped as Slack's format requires, masked."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import respx
from helpers import NOW, make_config

from social_watch import notify, reminders
from social_watch.clock import iso

HOOK = "https://hooks.example.test/services/T000/B000/webhookTokenXYZ"
HOOK_ENV = "SOCIAL_WATCH_WEBHOOK_URL"
HOSTILE = "<!channel> <https://evil.example/login|Reset your shop password here> & more"
PERSONAL = "mail me at jane.doe@gmail.com or call +420 601 234 567"


def item(text: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": 7,
        "network": "x",
        "text": text,
        "url": "https://x.com/alice/status/7",
        "created_at": iso(NOW - timedelta(minutes=25)),
        "due_at": iso(NOW + timedelta(minutes=5)),
        "author": {"handle": "alice", "name": "Alice"},
        "sentiment": {"label": "negative"},
        **extra,
    }


def posted(note: notify.Notification) -> str:
    config = make_config({"notify": {"webhook_url_env": HOOK_ENV}})
    with respx.mock() as mock:
        route = mock.post(HOOK).mock(return_value=httpx.Response(200, text="ok"))
        result = notify.send(config, {HOOK_ENV: HOOK}, note)
    assert result.delivered == ["webhook"], result.failed
    return str(json.loads(route.calls.last.request.content)["text"])


def assert_inert(text: str) -> None:
    # Slack reads a control sequence only between a raw '<' and '>': none may come from a customer.
    assert "<!channel>" not in text and "<https://evil.example" not in text
    assert "&lt;!channel&gt; &lt;https://evil.example/login|Reset your shop password here&gt;" in (
        text
    )
    assert "&amp; more" in text


def test_reminder_text_is_escaped_for_slack() -> None:
    text = posted(reminders.reminder_note(item(HOSTILE), "urgent", NOW))
    assert_inert(text)
    assert "<https://x.com/alice/status/7>" in text  # our own link stays a link


def test_group_reminder_and_any_note_fields_are_escaped() -> None:
    text = posted(reminders.group_note([item(HOSTILE, url="<!here>")], "breached", NOW))
    assert "<!here>" not in text and "&lt;!here&gt;" in text
    note = notify.Notification(
        title="<!everyone> spike", text=HOSTILE, url="javascript:alert(1)", fields={"<@U1>": "a>b"}
    )
    text = posted(note)
    assert_inert(text)
    assert "<!everyone>" not in text and "<@U1>" not in text and "a&gt;b" in text
    assert "javascript:" not in text  # only http(s) links are sent as links


def test_reminders_and_alerts_mask_personal_data_like_the_digest() -> None:
    text = posted(reminders.reminder_note(item(PERSONAL), "at_risk", NOW))
    assert "jane.doe@gmail.com" not in text and "601 234 567" not in text
    assert "[email]" in text and "[phone]" in text
    alert = posted(notify.Notification(title="spike", text=f"- @bob: {PERSONAL}"))
    assert "jane.doe@gmail.com" not in alert and "[email]" in alert


def test_a_registered_secret_never_leaves_through_a_notification() -> None:
    from social_watch import redact

    redact.register("tok-notify-8c1d2e")
    text = posted(notify.Notification(title="x: unhealthy", text="401 Bearer tok-notify-8c1d2e"))
    assert "tok-notify-8c1d2e" not in text and "Bearer ***" in text
