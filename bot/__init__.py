"""VOS bot: settings, wiring, the `vos` CLI and scheduled jobs."""
