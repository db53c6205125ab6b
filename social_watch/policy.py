"""Team policy every front end applies the same way: who may act, and the SLA clock's settings.

It lived in the CLI; the web inbox needs the same answers, so both ask here.
"""

from __future__ import annotations

from collections.abc import Collection

from social_watch.config import Config
from social_watch.errors import UsageError
from social_watch.queue import SlaSettings
from social_watch.sla import from_config


def sla_settings(config: Config) -> SlaSettings:
    """Business hours and the at-risk/urgent shares and the claim lifetime from [queue]."""
    q = config.queue
    return SlaSettings(from_config(q["business_hours"]), q["at_risk"], q["urgent"], q["claim_ttl"])


def check_agent(config: Config, agent: str, accounts: Collection[str] = ()) -> str:
    """``agent`` if the team knows it: a configured [agents] id or a web account.

    With neither configured, any id is accepted (a one-person setup, the demo).
    """
    known = set(config.agents) | set(accounts)
    if config.agents and agent not in known:
        raise UsageError(f"unknown agent {agent!r}; configured agents: {', '.join(sorted(known))}")
    return agent
