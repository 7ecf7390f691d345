"""HostPulse hub."""
