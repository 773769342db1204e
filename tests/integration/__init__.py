"""Tests of the Home Assistant integration (config flow, agent, calls, prompt)."""
