"""What the recommender talks to: the state clients (sync and async) and the HTTP API."""
