"""The ``hostpulse`` command: its entry point, and the hub's subcommands (hub, token, demo, detect)."""
