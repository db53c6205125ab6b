"""Connector name → class, imported only when used.

Built-in connectors are named by dotted path so `social-watch queue` never imports tweepy,
praw or httpx. Third-party connectors register through the ``social_watch.connectors``
entry point group (``name = "package.module:ConnectorClass"``), or per config section with
``[connectors.<name>] class = "package.module:ConnectorClass"`` (a private connector, or a
fake one in tests, without packaging it).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Any

from social_watch.clock import Clock, utcnow
from social_watch.config import Config
from social_watch.connector import Connector
from social_watch.errors import ConfigError

BUILTIN = {
    "replay": "connectors.replay:ReplayConnector",
    "x": "connectors.x:XConnector",
    "reddit": "connectors.reddit:RedditConnector",
    "mastodon": "connectors.mastodon:MastodonConnector",
    "bluesky": "connectors.bluesky:BlueskyConnector",
    "hackernews": "connectors.hackernews:HackerNewsConnector",
    "rss": "connectors.rss:RssConnector",
    "facebook": "connectors.facebook:FacebookConnector",
    "instagram": "connectors.instagram:InstagramConnector",
    "heureka": "connectors.heureka:HeurekaConnector",
    "trustpilot": "connectors.trustpilot:TrustpilotConnector",
    "youtube": "connectors.youtube:YouTubeConnector",
    "google_reviews": "connectors.google_reviews:GoogleReviewsConnector",
    "threads": "connectors.threads:ThreadsConnector",
}
ENTRY_POINT_GROUP = "social_watch.connectors"


def available() -> dict[str, str]:
    names = dict(BUILTIN)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        names.setdefault(ep.name, ep.value)
    return names


def load_class(name: str, target: str | None = None) -> type[Connector]:
    """The connector class for ``name``, or for an explicit ``module:Class`` target."""
    target = target or available().get(name)
    if target is None:
        raise ConfigError(
            f"unknown connector; available: {', '.join(sorted(available()))}",
            key=f"connectors.{name}",
        )
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ConfigError(f"connector module {module_name} cannot be imported: {exc}") from None
    cls = getattr(module, attr, None)
    if not (isinstance(cls, type) and issubclass(cls, Connector)):
        raise ConfigError(f"{target} is not a social-watch Connector", key=f"connectors.{name}")
    return cls


def build(
    config: Config,
    name: str,
    *,
    env: Mapping[str, str],
    clock: Clock = utcnow,
    options: Mapping[str, Any] | None = None,
) -> Connector:
    """A configured connector instance; options are validated against what it declares."""
    opts = dict(options if options is not None else config.connectors.get(name, {}))
    cls = load_class(name, opts.get("class"))
    cls.validate_options(opts, f"connectors.{name}")
    return cls(opts, env=env, brand_handles=config.brand_handles, clock=clock)


def configured(config: Config) -> list[str]:
    return [name for name, opts in config.connectors.items() if opts.get("enabled", True)]
