"""The ``evsim`` command line (the top layer): see :func:`evsim.cli.main.main`."""
from .main import build_parser, main

__all__ = ["build_parser", "main"]
