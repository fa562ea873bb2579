"""What the agents share: the orchestrator, the memory of past answers and the A/B adaptation.

The agents themselves are plugins (``empathy.plugins.agents``); this package is
the machinery every agent plugin relies on, kept in core so that a third-party
agent gets the same orchestration as the built-ins.
"""
