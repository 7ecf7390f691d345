"""Who may talk to the hub: agent tokens bound to hosts (``agent_tokens``, ``hosts``), each hub's
cache of them emptied by revocations (``token_cache``), the per-token ingest rate limit
(``rate_limit``), viewer tokens and the dashboard's sessions (``viewer_tokens``, ``viewers``);
``hashing`` makes a token and the only form of it that is stored."""
