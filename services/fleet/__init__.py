"""The simulated demo platform: seven services with real /metrics pages, and their events."""
