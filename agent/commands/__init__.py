"""The agent's command line: ``hostpulse agent``, ``hostpulse plugins`` and their helpers."""
