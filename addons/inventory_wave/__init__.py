# Importing the module registers its scanner step (pick) on the scanner app
from . import pick  # noqa: F401

__all__ = ['pick']
