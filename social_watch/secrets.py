"""Resolve secrets named in config (``*_env`` → environment, ``*_file`` → a file).

A ``Secret`` never shows its value in repr/str, so it cannot leak into a log line or an
error message by accident; call ``.reveal()`` at the one place that sends it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from social_watch.errors import AuthError, ConfigError
from social_watch.redact import is_identity


class Secret:
    __slots__ = ("_value", "source")

    def __init__(self, value: str, source: str, *, hide: bool = True):
        from social_watch import redact

        if hide:  # an account name (an SMTP user) is shown on purpose; a password never
            redact.register(value)
        self._value = value
        self.source = source  # "env:NAME" or "file:PATH": safe to show

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({self.source}, ***)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def resolve(
    section: Mapping[str, object],
    name: str,
    *,
    env: Mapping[str, str],
    where: str,
    required: bool = True,
) -> Secret | None:
    """The secret ``name`` of a config section, from ``{name}_env`` or ``{name}_file``."""
    env_key, file_key = f"{name}_env", f"{name}_file"
    var = section.get(env_key)
    path = section.get(file_key)
    if isinstance(var, str) and var:
        value = env.get(var, "")
        if value.strip():
            return Secret(value.strip(), f"env:{var}", hide=not is_identity(name))
        if not path:
            if required:
                raise AuthError(f"{where}: environment variable {var} is not set", env_var=var)
            return None
    if isinstance(path, str) and path:
        try:
            value = Path(path).expanduser().read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"cannot read secret file: {exc.strerror}", key=f"{where}.{file_key}"
            ) from None
        except UnicodeDecodeError:
            raise ConfigError(
                f"secret file {path} is not UTF-8 text", key=f"{where}.{file_key}"
            ) from None
        if not value:
            raise ConfigError("secret file is empty", key=f"{where}.{file_key}")
        return Secret(value, f"file:{path}", hide=not is_identity(name))
    if required:
        raise ConfigError(f'set {env_key} = "ENV_VAR_NAME" (or {file_key})', key=where)
    return None
