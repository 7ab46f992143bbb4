"""FIFO / FEFO allocation of an order line to lots and bins (B5, C2).

Pure Python (no Tryton import) so that it can be unit-tested on its own; the
reservation model gathers the candidate stock of a product in one query,
calls :func:`allocate` and writes the result in one batch.

Inputs
------
``quantity``
    The quantity to allocate (> 0), in the unit the candidates use.  Use
    integers or :class:`decimal.Decimal` for exact results; floats work but
    inherit binary rounding.
``candidates``
    An iterable of :class:`Candidate`: one per (bin, lot) holding the product
    with its *available* quantity (on hand minus already reserved), the bin's
    zone and ``blocked`` flag, the lot's expiry date and its first receipt
    date.
``strategy``
    ``'fefo'`` (first expired, first out) or ``'fifo'`` (first in, first out).
``today`` and ``min_shelf_life``
    A lot is *expired for this order* when its expiry date is before
    ``today + min_shelf_life`` (a :class:`datetime.timedelta`, e.g. a
    customer's minimum remaining shelf life); such a lot is never allocated.
``partial``
    ``True`` (back-order policy): allocate what is available and report the
    rest as ``shortfall``.  ``False`` (all-or-nothing policy): allocate
    nothing unless the whole quantity can be allocated.

Output
------
An :class:`Allocation`: ``lines``, a list of ``(key, quantity)`` in picking
order with every quantity > 0 and never above the candidate's available
quantity, and ``shortfall``, the quantity left unallocated (0 when complete).

Never allocated: candidates with ``available <= 0``, bins in a zone listed in
``EXCLUDED_ZONES`` (quarantine), blocked bins, and lots expired for the order.

Order
-----
FEFO sorts by expiry date (lots without expiry last), then receipt date, then
zone (pick face before reserve, so a pick does not need a replenishment) and
the candidate key for determinism; FIFO sorts by receipt date (unknown
last), then expiry, zone and key.  The allocation then takes greedily from
the front of that order, which is what both policies prescribe: a later lot
is touched only when every earlier one is exhausted.

Complexity
----------
O(n log n) time and O(n) memory for n candidates (one sort, one pass).

Reference: the FIFO and FEFO removal strategies as defined by GS1 / the
pharmaceutical good distribution practice (EU GDP 2013/C 343/01, 5.5:
"stock rotation according to the FEFO principle ... expired products
should be separated ... and not supplied").

>>> from datetime import date
>>> stock = [
...     Candidate('b', 'A-1', 'L2', 5, expiry=date(2030, 6, 1)),
...     Candidate('a', 'A-2', 'L1', 3, expiry=date(2030, 1, 1)),
...     Candidate('q', 'Q-1', 'L0', 9, expiry=date(2029, 1, 1),
...         zone='quarantine'),
...     ]
>>> allocate(6, stock, 'fefo', today=date(2026, 1, 1))
Allocation(lines=[('a', 3), ('b', 3)], shortfall=0)
>>> allocate(10, stock, 'fefo', today=date(2026, 1, 1), partial=False)
Allocation(lines=[], shortfall=10)
"""
import datetime as _datetime
from dataclasses import dataclass
from typing import Hashable, NamedTuple, Optional

__all__ = ['Candidate', 'Allocation', 'allocate', 'is_allocatable',
    'sort_key', 'STRATEGIES', 'EXCLUDED_ZONES']

STRATEGIES = ('fefo', 'fifo')
EXCLUDED_ZONES = frozenset({'quarantine'})
_ZONE_RANK = {'pick': 0, None: 1, 'reserve': 2, 'dispatch': 3}
_LATEST = _datetime.date.max


@dataclass(frozen=True)
class Candidate:
    """Stock of one product in one bin and lot that may serve an order."""
    key: Hashable
    location: Hashable
    lot: Optional[Hashable]
    available: object
    expiry: Optional[_datetime.date] = None
    received: Optional[_datetime.date] = None
    zone: Optional[str] = 'pick'
    blocked: bool = False


class Allocation(NamedTuple):
    lines: list
    shortfall: object


def is_allocatable(candidate, today, min_shelf_life=None):
    """Return whether the candidate may be allocated at all.

    >>> from datetime import date, timedelta
    >>> c = Candidate(1, 'A', 'L', 4, expiry=date(2026, 1, 10))
    >>> is_allocatable(c, date(2026, 1, 10))
    True
    >>> is_allocatable(c, date(2026, 1, 1), timedelta(days=10))
    False
    """
    if candidate.available is None or candidate.available <= 0:
        return False
    if candidate.blocked or candidate.zone in EXCLUDED_ZONES:
        return False
    if candidate.expiry is not None:
        limit = today + (min_shelf_life or _datetime.timedelta(0))
        if candidate.expiry < limit:
            return False
    return True


def sort_key(strategy):
    "Return the sort key function of the strategy"
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy={strategy!r}: must be one of {STRATEGIES}")

    def zone_rank(c):
        return _ZONE_RANK.get(c.zone, 1)

    if strategy == 'fefo':
        def key(c):
            return (c.expiry or _LATEST, c.received or _LATEST, zone_rank(c),
                repr(c.key))
    else:
        def key(c):
            return (c.received or _LATEST, c.expiry or _LATEST, zone_rank(c),
                repr(c.key))
    return key


def allocate(
        quantity, candidates, strategy='fefo', today=None,
        min_shelf_life=None, partial=True):
    """Allocate ``quantity`` over ``candidates``; see the module docstring.

    Raises :class:`ValueError` for a non-positive quantity or an unknown
    strategy.
    """
    if quantity is None or not quantity > 0:
        raise ValueError(f"quantity={quantity!r}: must be positive")
    if today is None:
        today = _datetime.date.today()
    usable = sorted(
        (c for c in candidates if is_allocatable(c, today, min_shelf_life)),
        key=sort_key(strategy))
    lines = []
    remaining = quantity
    for candidate in usable:
        if remaining <= 0:
            break
        take = min(candidate.available, remaining)
        lines.append((candidate.key, take))
        remaining -= take
    if remaining < 0:
        remaining = 0 * quantity
    if remaining and not partial:
        return Allocation([], quantity)
    return Allocation(lines, remaining)
