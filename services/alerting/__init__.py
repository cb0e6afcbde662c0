"""SLO alerts: lifecycle, durable outbox, delivery worker, notifiers and the inbound receiver."""
