"""Settings as environment variables, for child processes (the CLI, a second run, the
benchmark's scripts): what a deployment's worker would be given."""

from __future__ import annotations

from pydantic import AliasChoices, SecretStr

from nurture.settings import Settings

__all__ = ["settings_env"]


def settings_env(settings: Settings) -> dict[str, str]:
    """The variables that rebuild ``settings`` (secrets included: keep the result
    private), and keep Prefect quiet about analytics."""
    env = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    for group_name in type(settings).model_fields:
        group = getattr(settings, group_name)
        for name, field in type(group).model_fields.items():
            value = getattr(group, name)
            if value is None:
                continue
            alias = field.validation_alias
            key = (
                str(alias.choices[0])
                if isinstance(alias, AliasChoices)
                else f"NURTURE_{name.upper()}"
            )
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            env[key] = str(value)
    return env
