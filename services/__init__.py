"""Apollo's backend: configuration, store, demo fleet, API, alerting and the CLI."""
