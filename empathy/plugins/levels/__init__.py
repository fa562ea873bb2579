"""The five empathy levels, each a plugin of the ``level_findings`` hook."""
