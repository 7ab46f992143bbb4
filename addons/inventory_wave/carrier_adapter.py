"""Carrier adapters: one interface between a shipment and a carrier (C5).

Pure Python, no Tryton import.  A carrier record names its adapter by code
(``carrier.shipping_adapter``); shipping a packed shipment asks the adapter
for the tracking number: the *manual* adapter takes the number the user
typed or scanned, another adapter books the parcel with the carrier's API
and returns the number the carrier gave.

Adding a carrier is a plugin: a class with ``code``, ``name`` and
``book()`` registered with :func:`register`, or published by another
distribution under the entry-point group ``inventory_wave.carrier_adapters``
(loaded by :func:`load_plugins` when the module is imported).

>>> adapter = get('manual')
>>> adapter.book(Parcel('OUT/7', 'Li Wei', 'CN', 2.5, 1), ' sf1234567890 ')
'SF1234567890'
>>> get('test').book(Parcel('OUT/7', 'Li Wei', 'CN', 2.5, 1), None)
'TEST...'
"""
import hashlib
import re
from dataclasses import dataclass
from importlib.metadata import entry_points

#: A tracking number: letters and digits, with inner dashes, 4 to 40
#: characters (carriers' own formats all fit: 1Z…, JD…, SF…, S10 codes).
TRACKING = re.compile(r'^[A-Z0-9](?:[A-Z0-9-]{2,38})[A-Z0-9]$')


class AdapterError(ValueError):
    """The adapter refuses: ``code`` names the reason (tracking_missing,
    tracking_invalid, carrier_refused) and ``value`` the offending value"""

    def __init__(self, code, value=None):
        super().__init__(code)
        self.code = code
        self.value = value


@dataclass(frozen=True)
class Parcel:
    "What an adapter is told about the shipment"
    reference: str       # the shipment number
    recipient: str       # the ship-to name
    country: str | None  # ISO code of the ship-to address
    weight: float | None  # kilograms, all packages
    packages: int        # number of packages


def normalise_tracking(value):
    """Return the tracking number in upper case without surrounding blanks
    or raise AdapterError.

    >>> normalise_tracking('jd-0001-23')
    'JD-0001-23'
    """
    if value is None or not str(value).strip():
        raise AdapterError('tracking_missing')
    number = str(value).strip().upper()
    if not TRACKING.match(number):
        raise AdapterError('tracking_invalid', number[:60])
    return number


class Adapter:
    "The interface every carrier adapter implements"
    code = None
    name = None
    #: whether the user must type or scan the tracking number
    needs_tracking = True

    def book(self, parcel, tracking=None):
        """Return the tracking number of the parcel (booking it with the
        carrier when the adapter talks to one); raise AdapterError."""
        raise NotImplementedError


_ADAPTERS = {}


def register(cls):
    "Class decorator: make an adapter available by its code"
    if not cls.code or not cls.name:
        raise ValueError("an adapter needs a code and a name")
    _ADAPTERS[cls.code] = cls
    return cls


def get(code):
    "Return an instance of the adapter of code (KeyError if unknown)"
    return _ADAPTERS[code]()


def choices():
    "Return [(code, name)] of the registered adapters, manual first"
    return sorted(((c.code, c.name) for c in _ADAPTERS.values()),
        key=lambda c: (c[0] != 'manual', c[1]))


@register
class ManualAdapter(Adapter):
    "The carrier's own label is used; the user types or scans its number"
    code = 'manual'
    name = "Manual (typed or scanned tracking number)"

    def book(self, parcel, tracking=None):
        return normalise_tracking(tracking)


@register
class TestAdapter(Adapter):
    """Stands in for a carrier API (no carrier can be reached from tests or
    demos): books every parcel that has a recipient and returns a stable
    number derived from the shipment, so a replay gets the same one."""
    code = 'test'
    name = "Test carrier (simulated API)"
    needs_tracking = False

    def book(self, parcel, tracking=None):
        if not parcel.recipient:
            raise AdapterError('carrier_refused', parcel.reference)
        if tracking:
            return normalise_tracking(tracking)
        digest = hashlib.sha256(parcel.reference.encode('utf-8')).hexdigest()
        return 'TEST' + str(int(digest[:15], 16)).zfill(18)[:12]


def load_plugins(group='inventory_wave.carrier_adapters'):
    "Register the adapters other distributions publish as entry points"
    for entry_point in entry_points(group=group):
        register(entry_point.load())


load_plugins()
