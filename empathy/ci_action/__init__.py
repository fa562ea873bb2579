"""GitHub's view of the gate: outputs, step summary, annotations and SARIF.

The decision itself is made by :mod:`empathy.gate` (``decide_gate``); this
package only renders its JSON report for GitHub Actions and code scanning
(``action.yml`` runs ``empathy gate``); see docs/gate.md.
"""
