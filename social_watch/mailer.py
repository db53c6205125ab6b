"""Send e-mail through the configured SMTP server (to-email hand-offs, reminders, digests).

Messages are built with ``email.message.EmailMessage`` only: header values go through the
``email`` package, which refuses line breaks in them, so a hostile display name or subject
can never add a header. Nothing is sent by string concatenation.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import make_msgid

from social_watch.config import Config
from social_watch.errors import ConfigError, SocialWatchError
from social_watch.secrets import Secret, resolve


class MailError(SocialWatchError):
    """The SMTP server refused or could not be reached; nothing was sent."""

    exit_code = 1


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str  # none | starttls | tls
    sender: str
    to: tuple[str, ...]
    username: Secret | None
    password: Secret | None
    timeout: float


def settings(config: Config, env: Mapping[str, str]) -> SmtpSettings:
    section = config.section("email")
    if not section:
        raise ConfigError(
            "no [email] section: set host, port, security, from and to (see config.example.toml)"
        )
    return SmtpSettings(
        host=section["host"],
        port=section["port"],
        security=section["security"],
        sender=section["from"],
        to=tuple(section["to"]),
        username=resolve(section, "username", env=env, where="email", required=False),
        password=resolve(section, "password", env=env, where="email", required=False),
        timeout=section["timeout"].total_seconds(),
    )


def clean_header(value: str) -> str:
    """Collapse any line break or control character so a value stays on its header line."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())


def build(
    *,
    sender: str,
    to: Sequence[str],
    subject: str,
    text: str,
    html: str | None = None,
    reply_to: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Subject"] = clean_header(subject)
    msg["Message-ID"] = make_msgid(domain="social-watch.local")
    if reply_to:
        msg["Reply-To"] = reply_to
    for name, value in (headers or {}).items():
        msg[name] = clean_header(value)
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return msg


def address(display_name: str, addr: str) -> str:
    """A From/To value with a display name that cannot break out of its header."""
    local, _, domain = addr.partition("@")
    return str(Address(display_name=clean_header(display_name), username=local, domain=domain))


def send(s: SmtpSettings, msg: EmailMessage) -> None:
    """Deliver or raise MailError; never leaves a half-sent state to the caller."""
    if not msg["To"] and s.to:
        msg["To"] = ", ".join(s.to)
    try:
        if s.security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                s.host, s.port, timeout=s.timeout, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        with smtp:
            smtp.ehlo()
            if s.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise MailError(
                        f"SMTP server {s.host}:{s.port} does not offer STARTTLS; "
                        'nothing was sent (set security = "none" only on a trusted network)'
                    )
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if s.username and s.password:
                smtp.login(s.username.reveal(), s.password.reveal())
            smtp.send_message(msg)
    except MailError:
        raise
    except smtplib.SMTPAuthenticationError:
        raise MailError(
            f"SMTP server {s.host}:{s.port} refused the login; nothing was sent"
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(
            f"cannot send e-mail through {s.host}:{s.port}: {type(exc).__name__}: {exc}; nothing was sent"
        ) from None
