"""Who may talk to the hub: agent tokens bound to hosts, viewer tokens and sessions."""
