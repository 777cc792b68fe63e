"""The logic behind the API's resources: assistants, threads (and following their
runs' events), runs, crons, webhooks, authorization and the thread protocol.

See docs/architecture.md for the layers."""
