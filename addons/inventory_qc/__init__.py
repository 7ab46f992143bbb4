# Importing the module registers its scanner step
from . import scanner_qc  # noqa: F401

__all__ = ['scanner_qc']
