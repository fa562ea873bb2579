"""Built-in agents for the orchestrator, each a plugin of the ``register_agents`` hook."""
