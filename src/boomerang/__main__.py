"""``python -m boomerang``."""

from boomerang.cli import main

main()
