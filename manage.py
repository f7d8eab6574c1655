#!/usr/bin/env python
"""Django's command-line utility; `ispbills` wraps the same commands."""

import sys

from ispbills.cli import main

if __name__ == "__main__":
    sys.exit(main(["manage", *sys.argv[1:]]))
