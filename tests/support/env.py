"""Settings as environment variables, for the CLI and child processes."""

from __future__ import annotations

from nurture.settings import Settings

__all__ = ["settings_env"]


def settings_env(settings: Settings) -> dict[str, str]:
    """The variables that rebuild ``settings`` (and keep Prefect quiet about analytics)."""
    return {**settings.environment(), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
