# Importing the module registers its scanner step (pick) on the scanner app
from . import pick  # noqa: F401
from . import pack  # noqa: F401  the pack step and its document route

__all__ = ['pick', 'pack']
