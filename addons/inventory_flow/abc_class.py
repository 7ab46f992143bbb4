"""ABC classification of products by consumption value (B4).

Pure Python, no trytond import: the model gathers each product's
consumption value over a period (outgoing done moves × cost), calls
:func:`classify` and writes the classes in one batch per class.

Reference: the Pareto (ABC) analysis of inventory, e.g. APICS Dictionary
"ABC classification"; Silver, Pyke & Peterson, *Inventory Management and
Production Planning and Scheduling*, 3rd ed., §3.5.
"""

from decimal import Decimal

__all__ = ['classify', 'ClassificationError']


class ClassificationError(ValueError):
    "The shares given are not a partition of 100 %"


def classify(values, shares):
    """Return ``{key: class}`` for the consumption ``values``.

    Parameters
    ----------
    values : dict
        ``{key: consumption value}`` with values >= 0 (a product's outgoing
        quantity × cost over the period).
    shares : list of (class, share)
        The classes from the most to the least valuable, each with the share
        of the total consumption value it takes (e.g. ``[('A', 80),
        ('B', 15), ('C', 5)]``); shares are percentages summing to 100.

    Returns
    -------
    dict
        Sorting the keys by value (highest first, ties by key), a key
        belongs to the first class whose cumulative share is not yet
        reached by the value of the keys before it: the key that crosses
        the 80 % line is still an A.  Keys of value 0 (no consumption) get
        the last class, and so do all keys when the total is 0.

    Complexity: O(n log n) for n keys (the sort).

    >>> classify({'milk': 800, 'tea': 150, 'salt': 50, 'pins': 0},
    ...     [('A', 80), ('B', 15), ('C', 5)])
    {'milk': 'A', 'tea': 'B', 'salt': 'C', 'pins': 'C'}
    >>> classify({}, [('A', 80), ('B', 15), ('C', 5)])
    {}
    """
    if not shares:
        raise ClassificationError("no class")
    total_share = sum(Decimal(str(s)) for _, s in shares)
    if (any(Decimal(str(s)) < 0 for _, s in shares)
            or abs(total_share - 100) > Decimal('0.001')):
        raise ClassificationError(
            "shares must be >= 0 and sum to 100, not %s" % total_share)
    last = shares[-1][0]
    values = {k: Decimal(str(v)) for k, v in values.items()}
    if any(v < 0 for v in values.values()):
        raise ClassificationError("negative consumption value")
    total = sum(values.values())
    result = {}
    if not total:
        return {k: last for k in values}
    limits, cumulative = [], Decimal(0)
    for name, share in shares:
        cumulative += Decimal(str(share))
        limits.append((name, total * cumulative / 100))
    before = Decimal(0)
    index = 0
    for key in sorted(values, key=lambda k: (-values[k], str(k))):
        value = values[key]
        if not value:
            result[key] = last
            continue
        while index < len(limits) - 1 and before >= limits[index][1]:
            index += 1
        result[key] = limits[index][0]
        before += value
    return result
