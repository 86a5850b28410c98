"""``python -m nsad_lib.cli`` runs the command line."""

from nsad_lib.cli import main

main()
