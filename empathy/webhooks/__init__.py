"""The webhook service (FastAPI): signed, durable, at-least-once delivery of empathy's events.

- :mod:`~empathy.webhooks.app`: the HTTP API (``empathy serve``);
- :mod:`~empathy.webhooks.listener`: the ``webhooks`` plugin, which stores events in the outbox;
- :mod:`~empathy.webhooks.outbox` and :mod:`~empathy.webhooks.delivery`: the outbox and its workers;
- :mod:`~empathy.webhooks.bus`: Redis Streams between processes;
- :mod:`~empathy.webhooks.github`: inbound GitHub events;
- :mod:`~empathy.webhooks.ssrf` and :mod:`~empathy.webhooks.signing`: the guards.

See ``docs/webhooks.md``.
"""
