"""The use-cases every surface calls, once: refresh, forecast, change risk, backtest.

Each is a function of an open :class:`~empathy.core.workspace.Workspace`, and
the workspace offers it as a method (``ws.refresh()``, ``ws.forecast()``,
``ws.change_risk()``, ``ws.backtest()``); the CLI, the language server, the
gate and the webhook service call those and only render the result
(docs/architecture.md, "Where each use-case lives").
"""
