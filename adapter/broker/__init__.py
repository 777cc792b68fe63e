"""Stream brokers: run events from the worker to SSE clients. The
:class:`~adapter.broker.protocol.StreamBroker` protocol with its event ids and
:data:`~adapter.broker.protocol.END` (:mod:`adapter.broker.protocol`), and the backends:
memory, SQLite, Redis Streams.

See docs/architecture.md for the layers."""
