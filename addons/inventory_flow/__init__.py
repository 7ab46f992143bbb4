# Importing the module registers its HTTP routes on trytond's WSGI app
from . import api  # noqa: F401
from . import scanner  # noqa: F401
from . import internal_move  # noqa: F401

__all__ = ['api', 'scanner', 'internal_move']
