"""``python -m empathy``."""

from empathy.cli.app import main

main()
