"""Pure models, summaries and renderers of the platform documents, shared by collectors,
API and dashboard."""
