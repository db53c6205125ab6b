"""Connectors are found lazily: built-ins by dotted path, third parties by entry point."""

from __future__ import annotations

import sys
import types
from importlib.metadata import EntryPoint

import pytest

from social_watch import registry
from social_watch.connector import Connector, PollResult, Source
from social_watch.errors import ConfigError
from tests.helpers import make_config


class IntranetConnector(Connector):
    name = "intranet"
    network = "intranet"
    options = {"queries": "what to look for"}  # noqa: RUF012

    def sources(self) -> list[Source]:
        return [Source(self.name, "search", q) for q in self.opts.get("queries", [])]

    def poll(self, source: Source, cursor: object) -> PollResult:
        return PollResult([], cursor)


@pytest.fixture
def plugin(monkeypatch):
    module = types.ModuleType("sw_plugin_intranet")
    module.IntranetConnector = IntranetConnector  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sw_plugin_intranet", module)
    ep = EntryPoint(
        name="intranet",
        value="sw_plugin_intranet:IntranetConnector",
        group=registry.ENTRY_POINT_GROUP,
    )
    monkeypatch.setattr(
        registry, "entry_points", lambda group: [ep] if group == registry.ENTRY_POINT_GROUP else []
    )


def test_a_third_party_connector_registers_through_its_entry_point(plugin):
    assert registry.available()["intranet"] == "sw_plugin_intranet:IntranetConnector"
    config = make_config({"connectors": {"intranet": {"queries": ["shop"]}}})
    connector = registry.build(config, "intranet", env={})
    assert isinstance(connector, IntranetConnector)
    assert [s.key for s in connector.sources()] == ["intranet:search:shop"]


def test_a_plugin_cannot_shadow_a_builtin(plugin, monkeypatch):
    ep = EntryPoint(
        name="x", value="sw_plugin_intranet:IntranetConnector", group=registry.ENTRY_POINT_GROUP
    )
    monkeypatch.setattr(registry, "entry_points", lambda group: [ep])
    assert registry.available()["x"] == "connectors.x:XConnector"


def test_unknown_connectors_and_options_are_config_errors(plugin):
    with pytest.raises(ConfigError, match="unknown connector; available:"):
        registry.load_class("myspace")
    config = make_config({"connectors": {"intranet": {"querys": ["shop"]}}})
    with pytest.raises(
        ConfigError, match=r"connectors\.intranet\.querys: unknown option; did you mean 'queries'\?"
    ):
        registry.build(config, "intranet", env={})


def test_read_only_networks_are_exactly_those_whose_connector_cannot_reply():
    """The demo replies through the replay connector, so it knows a network is read-only
    only from this list: a Heureka review must not look answerable there."""
    from social_watch import registry
    from social_watch.connector import REPLY
    from social_watch.replies import READ_ONLY_NETWORKS

    cannot = {
        cls.network
        for name in registry.BUILTIN
        if name != "replay"
        for cls in [registry.load_class(name)]
        if REPLY not in cls.capabilities
    }
    assert cannot == set(READ_ONLY_NETWORKS)
