"""The webhook service (FastAPI): not built yet.

Planned in issue #7 (`empathy serve`). Nothing here is functional today.
"""
