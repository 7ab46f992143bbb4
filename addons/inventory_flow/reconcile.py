"""Stock valuation against the stock accounts, explained line by line (D2).

Pure Python, no trytond import: the reference the set-based report
(``valuation.py``) is tested against, and the "naive" computation of the
bench.  Perpetual (continental) valuation posts, for every stock move that
enters or leaves the stock, an accounting entry on the stock account of the
product's category (Tryton's ``account_stock_continental``); the value the
moves give and the balance of the stock accounts then agree, and every line
where they do not is a *reason*:

``not_posted``
    a done stock move that has no entry on the stock account (it was done
    before perpetual valuation was switched on, or in a fiscal year without
    the continental method);
``no_stock_account``
    the same, for a product whose accounting category has no stock account;
``amount_differs``
    the entry of the move carries another amount than the move's value (the
    move's cost was changed after posting, or a rounding of the unit);
``transfer``
    a move from one warehouse to another: the value of each warehouse
    changes, the company's stock account does not (it nets to zero over the
    two warehouses);
``revaluation``
    an entry on the stock account from a cost price change of a product
    (the *Update Cost Price* wizard posts it without a stock move);
``manual``
    an entry on the stock account whose origin is no stock move (a journal
    entry keyed in by hand, an opening balance);
``move_not_done``
    entries whose origin stock move is not done at the date (cancelled,
    or done later).

A *side* is one warehouse's view of a move: a move between two warehouses
has two sides (the value leaves one, enters the other); a receipt or a
shipment has one.  ``difference = value - account`` per side or entry.

Reference: the continental (perpetual) method, Tryton's
``account_stock_continental`` module; IAS 2 *Inventories* for the valuation.
"""
from collections import defaultdict, namedtuple
from decimal import Decimal

REASONS = ['not_posted', 'no_stock_account', 'amount_differs', 'transfer',
    'revaluation', 'manual', 'move_not_done']

#: One warehouse's side of a done stock move: its signed ``value`` (positive
#: into the warehouse) and the signed amount its entries put on the stock
#: account (``None`` when it has none); ``transfer`` when the other side is
#: another warehouse's stock
Side = namedtuple('Side', ['key', 'warehouse', 'category', 'value',
        'account', 'transfer', 'has_stock_account'])

#: An amount on a stock account that no done move of the date explains:
#: ``origin`` is 'stock.move' (its move is not done at the date),
#: 'product' (a revaluation) or None (by hand)
Entry = namedtuple('Entry', ['key', 'warehouse', 'category', 'amount',
        'origin'])

Line = namedtuple('Line', ['key', 'warehouse', 'category', 'reason',
        'value', 'account', 'difference'])


def reason_of_side(side):
    """The reason the side's value and account differ, or None if they
    agree.

    >>> reason_of_side(Side(1, 'W', 'C', Decimal(5), Decimal(5), False, True))
    >>> reason_of_side(Side(1, 'W', 'C', Decimal(5), None, False, True))
    'not_posted'
    >>> reason_of_side(Side(1, 'W', 'C', Decimal(5), None, True, True))
    'transfer'
    >>> reason_of_side(Side(1, 'W', 'C', Decimal(5), Decimal(4), False, True))
    'amount_differs'
    """
    account = side.account or Decimal(0)
    if side.value == account:
        return None
    if side.account is None:
        if side.transfer:
            return 'transfer'
        if not side.has_stock_account:
            return 'no_stock_account'
        return 'not_posted'
    return 'amount_differs'


def reason_of_entry(entry):
    "The reason an entry with no done move stands on the stock account"
    if not entry.amount:
        return None
    if entry.origin == 'stock.move':
        return 'move_not_done'
    if entry.origin == 'product':
        return 'revaluation'
    return 'manual'


def reconcile(sides, entries):
    """Compare the value of the moves with the stock accounts.

    Parameters: ``sides``, an iterable of :class:`Side`; ``entries``, an
    iterable of :class:`Entry`.
    Returns ``(totals, lines)``: ``totals`` maps ``(warehouse, category)`` to
    ``(value, account, difference)``; ``lines`` is the list of
    :class:`Line` of every side or entry where the two differ, so that the
    differences of the lines of a key add up to its total difference.
    Complexity: O(n) in the sides and entries.

    >>> totals, lines = reconcile(
    ...     [Side(1, 'W', 'C', Decimal(10), Decimal(10), False, True),
    ...      Side(2, 'W', 'C', Decimal(-4), None, False, True)],
    ...     [Entry(3, None, 'C', Decimal(1), None)])
    >>> totals[('W', 'C')]
    (Decimal('6'), Decimal('10'), Decimal('-4'))
    >>> [(l.key, l.reason, l.difference) for l in lines]
    [(2, 'not_posted', Decimal('-4')), (3, 'manual', Decimal('-1'))]
    """
    value = defaultdict(Decimal)
    account = defaultdict(Decimal)
    lines = []
    for side in sides:
        key = (side.warehouse, side.category)
        amount = side.account or Decimal(0)
        value[key] += side.value
        account[key] += amount
        reason = reason_of_side(side)
        if reason:
            lines.append(Line(side.key, side.warehouse, side.category,
                    reason, side.value, amount, side.value - amount))
    for entry in entries:
        key = (entry.warehouse, entry.category)
        value[key] += Decimal(0)
        account[key] += entry.amount
        reason = reason_of_entry(entry)
        if reason:
            lines.append(Line(entry.key, entry.warehouse, entry.category,
                    reason, Decimal(0), entry.amount, -entry.amount))
    totals = {k: (value[k], account[k], value[k] - account[k])
        for k in value}
    return totals, lines
