"""Plugin loading: the pluggy manager, entry points and plugin directories."""
