"""The live path: committed points fanned out to WebSocket sessions, in one hub or across hubs (Redis)."""
