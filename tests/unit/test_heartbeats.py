"""Runs on the ephemeral API send no heartbeats (they cost a second per run and nothing
watches them); with a server they do."""

from __future__ import annotations

from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

from nurture.orchestration.flows import without_idle_heartbeats


def test_heartbeats_are_off_only_without_a_server() -> None:
    with temporary_settings(updates={PREFECT_API_URL: None}), without_idle_heartbeats():
        assert get_current_settings().flows.heartbeat_frequency is None
    with (
        temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:4200/api"}),
        without_idle_heartbeats(),
    ):
        assert get_current_settings().flows.heartbeat_frequency == 180
