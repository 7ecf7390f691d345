"""The web application around the API: app factory, body inflation, response headers, the server."""
