"""``python -m bot`` runs the ``vos`` CLI."""

from bot.cli import main

main()
