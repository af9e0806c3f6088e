"""``python -m reffy.cli``."""

from reffy.cli import main

main()
