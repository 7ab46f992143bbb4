"""Pick-face replenishment from reserve (B3): which pick faces need what,
from which reserve bins and lots.

Pure Python (no Tryton import).  The pick-face model gathers, in a few
queries, each face's minimum and maximum with the stock of its bin and the
reserve candidates of its products, calls :func:`propose`, and writes the
proposals as draft move orders in one batch.

Inputs
------
``faces``
    An iterable of :class:`Face`: one pick-face rule (bin, product) with its
    ``minimum`` and ``maximum`` and the bin's ``on_hand`` and ``reserved``
    quantities of the product (all lots), plus an optional ``demand``: what
    a released wave needs from the face beyond what is reserved already.
``candidates``
    {product: [allocation.Candidate]}: the stock of the product in the
    warehouse, one per (bin, lot), with its *available* quantity (on hand
    minus reserved).  Only bins of the ``reserve`` zone serve a pick face;
    quarantine, blocked bins and lots expired on ``today`` never do
    (:func:`allocation.is_allocatable`).
``strategy``
    {product: ``'fefo'`` or ``'fifo'``} (``'fefo'`` when missing).

Rule
----
The *level* of a face is ``on_hand - reserved - demand``: what is left for
new orders once the reserved picks and the wave have been served.  A face
whose level is strictly under its minimum needs ``maximum - level`` (back up
to its maximum); a face at or above its minimum needs nothing.  The need is
taken from the reserve candidates in FEFO or FIFO order by
:func:`allocation.allocate` (partial: what reserve holds is proposed, the
rest is reported as ``shortfall``).  Faces of the same product share the
reserve stock: what one face takes is not offered to the next.  Faces are
served by increasing level relative to their minimum (the emptiest first),
then by key.

Output
------
A list of :class:`Proposal` (``face``, ``need``, ``lines`` as
``[(candidate, quantity)]`` in picking order, ``shortfall``), one per face
that needs stock, even when reserve holds nothing for it (then ``lines`` is
empty and ``shortfall == need``).

Complexity
----------
O(f log f + n log n) for f faces and n candidates.

Reference: the min/max (s, S) replenishment policy of a forward pick area
(Bartholdi & Hackman, *Warehouse & Distribution Science*, ch. 8 "Forward
pick areas"), with the removal order of GS1 / EU GDP 2013/C 343/01 5.5
(FEFO) as in ``allocation.py``.

>>> from datetime import date
>>> from .allocation import Candidate
>>> faces = [Face('f1', 'milk', minimum=10, maximum=40, on_hand=6)]
>>> stock = {'milk': [
...     Candidate('r2', 'R-2', 'L2', 30, expiry=date(2030, 6, 1),
...         zone='reserve'),
...     Candidate('r1', 'R-1', 'L1', 20, expiry=date(2030, 1, 1),
...         zone='reserve'),
...     Candidate('p', 'P-1', 'L0', 6, expiry=date(2029, 1, 1))]}
>>> [(p.face, p.need, [(c.key, q) for c, q in p.lines], p.shortfall)
...     for p in propose(faces, stock, today=date(2026, 1, 1))]
[('f1', 34, [('r1', 20), ('r2', 14)], 0)]
"""
import datetime as _datetime
from dataclasses import dataclass
from typing import Hashable, NamedTuple

from .allocation import allocate, is_allocatable

__all__ = ['Face', 'Proposal', 'level', 'need', 'propose', 'SOURCE_ZONES']

#: The zones a pick face is replenished from
SOURCE_ZONES = frozenset({'reserve'})


@dataclass(frozen=True)
class Face:
    """A pick-face rule with the current stock of its bin."""
    key: Hashable
    product: Hashable
    minimum: object
    maximum: object
    on_hand: object = 0
    reserved: object = 0
    demand: object = 0
    location: Hashable = None


class Proposal(NamedTuple):
    face: Hashable
    need: object
    lines: list
    shortfall: object


def level(face):
    """What the face holds for new orders.

    >>> level(Face(1, 'p', 5, 20, on_hand=12, reserved=4, demand=3))
    5
    """
    return face.on_hand - face.reserved - face.demand


def need(face):
    """The quantity that brings the face back to its maximum, or 0 when it
    is not under its minimum.

    >>> need(Face(1, 'p', 5, 20, on_hand=5))
    0
    >>> need(Face(1, 'p', 5, 20, on_hand=4))
    16
    >>> need(Face(1, 'p', 5, 20, on_hand=9, demand=6))
    17
    """
    if face.maximum < face.minimum:
        raise ValueError(
            f"maximum={face.maximum!r} under minimum={face.minimum!r}")
    current = level(face)
    if current < face.minimum:
        return face.maximum - current
    return 0 * face.maximum


def propose(faces, candidates, strategy=None, today=None):
    """Return the :class:`Proposal` of every face that needs stock; see the
    module docstring.  ``candidates`` is not modified."""
    if today is None:
        today = _datetime.date.today()
    strategy = strategy or {}
    remaining = {}
    for product, rows in candidates.items():
        remaining[product] = {
            c.key: c for c in rows
            if c.zone in SOURCE_ZONES and is_allocatable(c, today)}
    needy = [(f, need(f)) for f in faces]
    needy = [(f, n) for f, n in needy if n > 0]
    needy.sort(key=lambda fn: (level(fn[0]) - fn[0].minimum, repr(fn[0].key)))
    proposals = []
    for face, quantity in needy:
        pool = remaining.get(face.product, {})
        usable = [c for c in pool.values() if c.location != face.location]
        allocation = allocate(quantity, usable,
            strategy.get(face.product, 'fefo'), today=today, partial=True)
        lines = []
        for key, taken in allocation.lines:
            candidate = pool[key]
            lines.append((candidate, taken))
            left = candidate.available - taken
            pool[key] = type(candidate)(
                candidate.key, candidate.location, candidate.lot, left,
                candidate.expiry, candidate.received, candidate.zone,
                candidate.blocked)
        proposals.append(
            Proposal(face.key, quantity, lines, allocation.shortfall))
    return proposals
