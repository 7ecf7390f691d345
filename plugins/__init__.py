"""HostPulse plugins."""
