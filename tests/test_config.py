"""Config: defaults, discovery, and errors that name the file, the key path and the reason."""

from __future__ import annotations

from datetime import timedelta

import pytest

from social_watch import config as cfg
from social_watch.errors import ConfigError


def load_text(tmp_path, text: str) -> cfg.Config:
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    return cfg.load(str(path), env={})


def error(tmp_path, text: str) -> str:
    with pytest.raises(ConfigError) as exc:
        load_text(tmp_path, text)
    return str(exc.value)


def test_no_config_file_is_valid_defaults(tmp_path):
    config = cfg.load(None, env={})
    assert config.path is None
    assert config.database == "social-watch.db"
    assert config.queue["target"] == timedelta(minutes=30)
    assert config.queue["at_risk"] == 0.5 and config.queue["urgent"] == 0.8
    assert config.agents == {}


def test_discovery_order(tmp_path):
    (tmp_path / "social-watch.toml").write_text('database = "cwd.db"\n')
    (tmp_path / "env.toml").write_text('database = "env.db"\n')
    (tmp_path / "flag.toml").write_text('database = "flag.db"\n')
    assert cfg.load(None, env={}).database == "cwd.db"
    assert cfg.load(None, env={"SOCIAL_WATCH_CONFIG": "env.toml"}).database == "env.db"
    assert cfg.load("flag.toml", env={"SOCIAL_WATCH_CONFIG": "env.toml"}).database == "flag.db"


def test_the_example_config_is_valid():
    from pathlib import Path

    example = Path(__file__).resolve().parents[1] / "config.example.toml"
    config = cfg.load(str(example), env={})
    assert config.agents["jana"].signature == "^JN"
    assert config.queue["targets"]["rss"] == timedelta(hours=4)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[connectors.x]\nqueries = ["a", 2]',
            "connectors.x.queries[1]: expected a string, got a number",
        ),
        ('[queue]\ntarget = "soon"', "queue.target: expected a duration"),
        ("[queue]\nat_risk = 1.5", "queue.at_risk: expected a number between 0 and 1"),
        (
            "[queue]\nat_risk = 0.9\nurgent = 0.5",
            "queue.urgent: must not be lower than queue.at_risk",
        ),
        ('[queue]\ntagret = "30m"', "queue.tagret: unknown key; did you mean 'target'?"),
        ("bogus = 1", "bogus: unknown key"),
        ('[agents.jana]\nsignature = "^JN"', "agents.jana.name: is required"),
        (
            '[connectors.mastodon]\naccess_token = "abc"',
            "connectors.mastodon.access_token: secrets never live in the config file",
        ),
        (
            '[connectors.mastodon]\naccess_token_env = "sk-live 123"',
            "connectors.mastodon.access_token_env: must name an environment variable",
        ),
        ('[queue.business_hours]\ntimezone = "Mars/Olympus"', "queue.business_hours"),
        ('[queue.business_hours]\ntimezone = "UTC"\ndays = "someday"', "queue.business_hours"),
        ('[tags.rules]\nbad = ["re:(unclosed"]', "tags.rules: bad[0]: invalid regular expression"),
        ('[sensitive]\norder_pattern = "("', "sensitive.order_pattern: invalid regular expression"),
        ('[email]\nhost = "smtp"', "email.from: is required"),
        (
            '[email]\nhost = "smtp"\nfrom = "a@b"\nsecurity = "ssl"',
            "email.security: expected one of none, starttls, tls",
        ),
        (
            '[connectors.rss]\nfeeds = ["ftp://x"]',
            "connectors.rss.feeds[0]: expected an http(s) URL",
        ),
        ('[queue.targets]\n"My Space" = "1h"', "queue.targets.My Space: a network name is"),
        ('[tags.rules]\n"Bad Tag!" = ["love"]', "tags.rules.Bad Tag!: a tag name is"),
        ('[tags.rules]\nVIP = ["love"]', "tags.rules.VIP: a tag name is lower-case"),
        ('[tags.rules]\n"" = ["ok"]', "tags.rules.: a tag name is"),
        (
            "[sentiment]\npositive_threshold = -0.5\nnegative_threshold = 0.5",
            "sentiment.positive_threshold: must be above 0",
        ),
        ("[sentiment]\npositive_threshold = 5", "sentiment.positive_threshold: must be above 0"),
        (
            "[sentiment]\npositive_threshold = 0.2\nnegative_threshold = 0.0",
            "sentiment.negative_threshold: must be below 0",
        ),
        ("database = [", "invalid TOML"),
    ],
)
def test_errors_name_the_key_and_reason(tmp_path, text, expected):
    message = error(tmp_path, text)
    assert expected in message
    assert message.startswith(str(tmp_path / "c.toml"))


def test_review_portals_and_import_networks_take_their_own_target(tmp_path):
    (tmp_path / "c.toml").write_text(
        '[queue.targets]\ntrustpilot = "24h"\nfacebook = "1h"\ntiktok = "2h"\n'
    )
    config = cfg.load(str(tmp_path / "c.toml"), env={})
    assert config.queue["targets"]["trustpilot"] == timedelta(hours=24)
    assert config.queue["targets"]["tiktok"] == timedelta(hours=2)


def test_a_duration_typed_on_the_command_line_needs_its_unit():
    assert cfg.parse_option_duration("7d") == timedelta(days=7)
    assert cfg.parse_option_duration("1w") == timedelta(weeks=1)
    for bare in ("7", " 30 ", "1.5"):
        with pytest.raises(ValueError, match="give a unit"):
            cfg.parse_option_duration(bare)


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        cfg.load(str(tmp_path / "nope.toml"), env={})


def test_durations():
    assert cfg.parse_duration("90s") == timedelta(seconds=90)
    assert cfg.parse_duration("2h") == timedelta(hours=2)
    assert cfg.parse_duration(45) == timedelta(seconds=45)
    with pytest.raises(ValueError):
        cfg.parse_duration("-5m")


def test_every_connector_section_of_the_example_is_valid_for_its_connector():
    from pathlib import Path

    from social_watch import registry

    example = Path(__file__).resolve().parents[1] / "config.example.toml"
    config = cfg.load(str(example), env={})
    assert set(config.connectors) >= {"x", "reddit", "mastodon", "bluesky", "hackernews", "rss"}
    for name, options in config.connectors.items():
        registry.load_class(name).validate_options(options, f"connectors.{name}")


@pytest.mark.parametrize("value", ['"99999999999d"', "inf", "nan", '"300000w"', "1e300"])
def test_an_absurd_duration_is_a_config_error_not_a_traceback(value, tmp_path):
    """timedelta overflowed (a traceback on every command), and a target of millennia made
    every due time overflow at ingest."""
    (tmp_path / "c.toml").write_text(f"[queue]\ntarget = {value}\n")
    with pytest.raises(ConfigError, match=r"queue\.target: "):
        cfg.load(str(tmp_path / "c.toml"), env={})


def test_an_smtp_port_out_of_range_is_a_config_error(tmp_path):
    """It passed as a positive number and became an OverflowError traceback in to-email."""
    (tmp_path / "c.toml").write_text('[email]\nhost = "h"\nfrom = "a@b.c"\nport = 99999999\n')
    with pytest.raises(ConfigError, match=r"email\.port: .*65535"):
        cfg.load(str(tmp_path / "c.toml"), env={})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[email]\nhost = "smtp"\nfrom = "a@b.c\\nBcc: x@evil.example"',
            "email.from: expected one e-mail address on one line",
        ),
        (
            '[email]\nhost = "smtp"\nfrom = "a@b.c"\nto = ["care@shop.example", "nobody"]',
            "email.to[1]: expected one e-mail address",
        ),
        (
            '[notify]\nemail_to = "x@y.z, w@v.u"',
            "notify.email_to: expected one e-mail address on one line",
        ),
    ],
)
def test_addresses_are_single_addresses_on_one_line(tmp_path, text, expected):
    assert expected in error(tmp_path, text)


def test_hostile_config_is_a_config_error_not_a_traceback(cli, tmp_path):
    (tmp_path / "deep.toml").write_text("a = " + "[" * 5000 + "]" * 5000 + "\n")
    deep = cli("queue", "--config", str(tmp_path / "deep.toml"))
    assert deep.exit_code == 2 and "nested too deeply" in deep.output
    (tmp_path / "t.toml").write_text('[watch]\ndigest_at = "25:61"\n')
    late = cli("check", "--config", str(tmp_path / "t.toml"))
    assert late.exit_code == 2 and "watch.digest_at" in late.output and "25:61" in late.output


def test_check_reports_unreadable_and_unset_smtp_secrets_on_stderr(tmp_path):
    import os
    import subprocess
    import sys

    (tmp_path / "rnd.bin").write_bytes(bytes(range(128, 256)))
    (tmp_path / "pw.toml").write_text(
        '[email]\nhost = "localhost"\nfrom = "a@example.com"\npassword_file = "rnd.bin"\n'
    )
    (tmp_path / "pe.toml").write_text(
        '[email]\nhost = "localhost"\nfrom = "a@example.com"\npassword_env = "SW_TEST_SMTP_PW"\n'
    )
    env = {k: v for k, v in os.environ.items() if k != "SW_TEST_SMTP_PW"}

    def check(name: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "social_watch", "check", "--config", name],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    unreadable = check("pw.toml")
    assert unreadable.returncode == 2 and "Traceback" not in unreadable.stderr
    assert "email.password_file" in unreadable.stderr and "rnd.bin" in unreadable.stderr
    unset = check("pe.toml")
    assert unset.returncode == 1 and "FAILED" not in unset.stdout
    assert "SW_TEST_SMTP_PW is not set" in unset.stderr
