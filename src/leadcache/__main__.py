"""``python -m leadcache`` runs the command-line interface."""

from leadcache.cli import main

if __name__ == "__main__":
    main()
