"""The deployment gate and its reports: not built yet.

Planned in issue #6 (`empathy gate`, `action.yml`). Nothing here is functional today.
"""
