"""Order intake REST API for sales channels (C1, D2).

Routes (all under ``/<database>/inventory/api/v1``):

* ``POST /orders``: create, reserve and ship-plan an order; idempotent by
  the ``Idempotency-Key`` header,
* ``GET /orders/<id>``: the order with its reservations and shipments,
* ``GET /stock?sku=…`` (or ``gtin=``): on hand, reserved and available per
  warehouse,
* ``GET /openapi.yaml``: the contract, ``docs/api/openapi.yaml``.

Authentication is a Tryton user-application key of the ``inventory``
application (``Authorization: Bearer <key>``) whose user belongs to the
Integration group.  Every error is JSON ``{"error": code, "message": text}``
with a 4xx status, and a refused request changes nothing in the database:
the body is validated and every name is resolved before the first write.

A POST runs in two transactions: a read-only one authenticates, validates
and resolves the request (and answers a replay); the second takes an
advisory lock on the idempotency key (a concurrent request with the same key
gets 409), creates the draft order, reserves its stock, stores the response
with the key — all or nothing — and queues the processing of the sale
(quote, confirm, shipment, assigned moves) as an ``ir.queue`` task.  See
``docs/reservation.md``.
"""
import datetime as dt
import hashlib
import json
import logging
import os
import re
import time
from decimal import Decimal, InvalidOperation
from functools import wraps

from trytond import backend
from trytond.config import config
from trytond.exceptions import UserError, UserWarning
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Unique, fields
from trytond.pool import Pool, PoolMeta
from trytond.protocols.wrappers import (
    Response, exceptions, set_max_request_size, user_application,
    with_pool, with_transaction)
from trytond.transaction import Transaction, without_check_access
from trytond.wsgi import app

from .allocation import is_allocatable

logger = logging.getLogger(__name__)

PREFIX = '/<database_name>/inventory/api/v1'
MAX_BODY = 256 * 1024
MAX_LINES = 200
MAX_QUANTITY = 1_000_000
MAX_PRICE = Decimal('1000000000')
IN_FLIGHT_TIMEOUT = dt.timedelta(minutes=2)
EMAIL = re.compile(r'^[^@\s]+@[^@\s]+\.[^@\s]+$')
KEY = re.compile(r'^[\x21-\x7e]{1,128}$')
OPENAPI = os.path.join(
    os.path.dirname(__file__), '..', '..', 'docs', 'api', 'openapi.yaml')
# Every method a client may send (HEAD and OPTIONS are answered by
# werkzeug): the routes answer the wrong ones with the API's JSON 405.
ALL_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'TRACE', 'QUERY']


class UserApplication(metaclass=PoolMeta):
    __name__ = 'res.user.application'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.application.selection.append(('inventory', "Inventory API"))


class Idempotency(ModelSQL, ModelView):
    "Inventory API Idempotency Key"
    __name__ = 'inventory.api.idempotency'

    key = fields.Char("Key", required=True, readonly=True,
        help="The Idempotency-Key header the client sent.")
    user = fields.Many2One('res.user', "User", readonly=True,
        ondelete='SET NULL',
        help="The API user who sent the request.")
    request_hash = fields.Char("Request Hash", required=True, readonly=True,
        help="The SHA-256 of the canonical JSON body of the first request.")
    state = fields.Selection([
            ('in_flight', "In Flight"),
            ('done', "Done"),
            ], "State", required=True, readonly=True,
        help="In flight while the first request is being processed.")
    claimed_at = fields.DateTime("Claimed At", required=True, readonly=True,
        help="When the request was received; an in-flight claim older than "
        "two minutes is considered lost and may be taken over.")
    response_status = fields.Integer("Response Status", readonly=True,
        help="The HTTP status of the first response, returned to replays.")
    response_body = fields.Text("Response Body", readonly=True,
        help="The JSON body of the first response, returned to replays.")
    sale = fields.Many2One('sale.sale', "Sale", readonly=True,
        ondelete='SET NULL',
        help="The order the request created.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('key_unique', Unique(t, t.key),
                'inventory_flow.msg_api_idempotency_key_unique'),
            ]
        cls._order = [('claimed_at', 'DESC'), ('id', 'DESC')]

    @classmethod
    def purge(cls, older_than=dt.timedelta(days=2)):
        """Delete the keys of finished requests older than ``older_than``
        (the daily cron; keys are kept at least 24 hours)"""
        older_than = max(older_than, dt.timedelta(hours=24))
        cls.delete(cls.search([
                    ('state', '=', 'done'),
                    ('claimed_at', '<', dt.datetime.now() - older_than),
                    ]))


# -- errors ----------------------------------------------------------------

class ApiError(exceptions.HTTPException):
    "An API error rendered as JSON"

    def __init__(self, status, code, message, **extra):
        super().__init__(description=message)
        self.code = int(status)
        self.error = code
        self.extra = extra

    def get_body(self, environ=None, scope=None):
        return json.dumps(
            {'error': self.error, 'message': self.description, **self.extra})

    def get_headers(self, environ=None, scope=None):
        return [('Content-Type', 'application/json')]


def _message(code, **kwargs):
    return gettext('inventory_flow.msg_api_%s' % code, **kwargs)


def error(status, code, **kwargs):
    extra = kwargs.pop('extra', {})
    return ApiError(status, code, _message(code, **kwargs), **extra)


_HTTP_CODES = {
    400: 'bad_request', 401: 'unauthorized', 403: 'forbidden',
    404: 'not_found', 405: 'method_not_allowed', 409: 'conflict',
    413: 'payload_too_large', 415: 'unsupported_media_type',
    422: 'unprocessable', 429: 'too_many_requests',
    503: 'service_unavailable',
    }


def json_errors(func):
    """Render every error of the route as JSON.  Put it on both sides of
    trytond's ``with_pool``: inside it, so that an unexpected exception is a
    JSON 500 (``with_pool`` would turn it into a 400 "Unable to get RPC
    method" for a JSON body without a JSON-RPC method); outside it, for the
    errors of ``with_pool`` itself (unknown database)."""
    @wraps(func)
    def wrapper(request, *args, **kwargs):
        try:
            return func(request, *args, **kwargs)
        except ApiError as e:
            return e
        except exceptions.HTTPException as e:
            status = e.code or 500
            message = e.description or ''
            if status >= 500:
                logger.exception("inventory API failure")
            return ApiError(
                status, _HTTP_CODES.get(status, 'error'), str(message))
        except backend.DatabaseOperationalError:
            return ApiError(503, 'service_unavailable',
                "The database is busy, retry later.")
        except Exception:
            logger.exception("inventory API failure")
            return ApiError(500, 'internal_error',
                "Internal error; the request was not applied.")
    return wrapper


def json_response(data, status=200, headers=None):
    return Response(
        json.dumps(data, default=str), status=status, headers=headers,
        content_type='application/json')


# -- validation (pure, before any write) -----------------------------------

def _string(data, name, path, required=True, maximum=200):
    value = data.get(name)
    field = path + name
    if value is None:
        if required:
            raise error(422, 'missing_field', field=field)
        return None
    if not isinstance(value, str):
        raise error(422, 'invalid_type', field=field, expected='string')
    value = value.strip()
    if required and not value:
        raise error(422, 'missing_field', field=field)
    if len(value) > maximum:
        raise error(422, 'too_long', field=field, maximum=maximum)
    if any(ord(c) < 32 for c in value):
        raise error(422, 'invalid_value', field=field, value=value[:40])
    return value or None


def _check_keys(data, allowed, path):
    for key in data:
        if key not in allowed:
            raise error(422, 'unknown_field', field=path + str(key)[:40])


def _number(value, field, kind):
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise error(422, 'invalid_type', field=field, expected='number')
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise error(422, 'invalid_value', field=field, value=str(value)[:40])
    if not number.is_finite():
        raise error(422, 'invalid_value', field=field, value=str(value)[:40])
    return number


def validate_order(data, today):
    """Return the normalised order of a decoded JSON body or raise ApiError
    naming the first wrong field."""
    if not isinstance(data, dict):
        raise error(400, 'invalid_body')
    _check_keys(data, {'channel', 'channel_reference', 'customer', 'lines',
            'requested_ship_date', 'carrier'}, '')
    order = {
        'channel': _string(data, 'channel', '', maximum=64),
        'channel_reference': _string(
            data, 'channel_reference', '', maximum=64),
        'carrier': _string(data, 'carrier', '', required=False, maximum=64),
        }
    customer = data.get('customer')
    if customer is None:
        raise error(422, 'missing_field', field='customer')
    if not isinstance(customer, dict):
        raise error(422, 'invalid_type', field='customer', expected='object')
    _check_keys(customer, {'name', 'email', 'address'}, 'customer.')
    email = _string(customer, 'email', 'customer.', maximum=254)
    if not EMAIL.match(email):
        raise error(422, 'invalid_value', field='customer.email',
            value=email[:40])
    address = customer.get('address')
    if address is None:
        raise error(422, 'missing_field', field='customer.address')
    if not isinstance(address, dict):
        raise error(422, 'invalid_type', field='customer.address',
            expected='object')
    _check_keys(address, {'street', 'postal_code', 'city', 'country'},
        'customer.address.')
    country = _string(address, 'country', 'customer.address.',
        required=False, maximum=2)
    if country is not None and not re.match(r'^[A-Za-z]{2}$', country):
        raise error(422, 'invalid_value', field='customer.address.country',
            value=country)
    order['customer'] = {
        'name': _string(customer, 'name', 'customer.', maximum=120),
        'email': email,
        'street': _string(address, 'street', 'customer.address.'),
        'postal_code': _string(address, 'postal_code', 'customer.address.',
            required=False, maximum=20),
        'city': _string(address, 'city', 'customer.address.', maximum=100),
        'country': country.upper() if country else None,
        }
    ship_date = _string(data, 'requested_ship_date', '', required=False,
        maximum=10)
    if ship_date is not None:
        try:
            ship_date = dt.date.fromisoformat(ship_date)
        except ValueError:
            raise error(422, 'invalid_value', field='requested_ship_date',
                value=ship_date)
        if not today <= ship_date <= today + dt.timedelta(days=366):
            raise error(422, 'ship_date_range', field='requested_ship_date',
                value=ship_date.isoformat())
    order['requested_ship_date'] = ship_date
    lines = data.get('lines')
    if lines is None:
        raise error(422, 'missing_field', field='lines')
    if not isinstance(lines, list):
        raise error(422, 'invalid_type', field='lines', expected='array')
    if not 1 <= len(lines) <= MAX_LINES:
        raise error(422, 'line_count', field='lines', maximum=MAX_LINES)
    order['lines'] = []
    for i, line in enumerate(lines):
        path = f'lines[{i}].'
        if not isinstance(line, dict):
            raise error(422, 'invalid_type', field=f'lines[{i}]',
                expected='object')
        _check_keys(line, {'sku', 'gtin', 'quantity', 'unit_price'}, path)
        sku = _string(line, 'sku', path, required=False, maximum=64)
        gtin = _string(line, 'gtin', path, required=False, maximum=14)
        if bool(sku) == bool(gtin):
            raise error(422, 'sku_or_gtin', field=path + 'sku')
        if gtin and not gtin.isdigit():
            raise error(422, 'invalid_value', field=path + 'gtin', value=gtin)
        if line.get('quantity') is None:
            raise error(422, 'missing_field', field=path + 'quantity')
        quantity = _number(line['quantity'], path + 'quantity', 'quantity')
        if not 0 < quantity <= MAX_QUANTITY:
            raise error(422, 'quantity_range', field=path + 'quantity',
                value=str(line['quantity'])[:40], maximum=MAX_QUANTITY)
        if line.get('unit_price') is None:
            raise error(422, 'missing_field', field=path + 'unit_price')
        price = _number(line['unit_price'], path + 'unit_price', 'price')
        if (not 0 <= price < MAX_PRICE
                or price != price.quantize(Decimal('0.0001'))):
            raise error(422, 'invalid_value', field=path + 'unit_price',
                value=str(line['unit_price'])[:40])
        order['lines'].append({
                'sku': sku, 'gtin': gtin, 'quantity': quantity,
                'unit_price': price, 'field': path,
                })
    return order


def canonical_hash(data):
    return hashlib.sha256(json.dumps(
            data, sort_keys=True, separators=(',', ':'),
            ensure_ascii=False).encode('utf-8')).hexdigest()


# -- resolution (read only) ------------------------------------------------

def _language(request):
    "The language of the messages: Accept-Language, English by default"
    best = request.accept_languages.best_match(['en', 'zh-CN', 'zh'])
    return 'zh_CN' if best and best.startswith('zh') else 'en'


def _is_integration_user():
    pool = Pool()
    ModelData = pool.get('ir.model.data')
    User = pool.get('res.user')
    group_id = ModelData.get_id('inventory_flow', 'group_integration')
    with without_check_access():
        user = User(Transaction().user)
        return group_id in {g.id for g in user.groups}


def _check_integration():
    if not _is_integration_user():
        raise error(403, 'forbidden')


def resolve_order(order):
    """Resolve the channel and the products of a validated order; raise
    ApiError for unknown or unsellable ones."""
    pool = Pool()
    Channel = pool.get('inventory.channel')
    Product = pool.get('product.product')
    Country = pool.get('country.country')
    channels = Channel.search([('code', '=', order['channel'])], limit=1)
    if not channels:
        raise error(422, 'unknown_channel', value=order['channel'])
    order['channel_id'] = channels[0].id
    if order['customer']['country']:
        countries = Country.search(
            [('code', '=', order['customer']['country'])], limit=1)
        if not countries:
            raise error(422, 'invalid_value',
                field='customer.address.country',
                value=order['customer']['country'])
        order['customer']['country_id'] = countries[0].id
    skus = {l['sku'] for l in order['lines'] if l['sku']}
    by_code = {}
    if skus:
        by_code = {p.code: p for p in Product.search(
                [('code', 'in', sorted(skus))])}
    for line in order['lines']:
        if line['sku']:
            product = by_code.get(line['sku'])
            if not product:
                raise error(422, 'unknown_product',
                    field=line['field'] + 'sku', value=line['sku'])
        else:
            products = Product.search([('gtin', '=', line['gtin'])], limit=1)
            if not products:
                raise error(422, 'unknown_product',
                    field=line['field'] + 'gtin', value=line['gtin'])
            product, = products
        if not product.salable or product.type != 'goods':
            raise error(422, 'product_not_salable',
                value=product.code or product.rec_name)
        unit = product.default_uom
        quantity = line['quantity']
        if Decimal(str(unit.round(float(quantity)))) != quantity:
            raise error(422, 'quantity_precision',
                field=line['field'] + 'quantity', value=str(quantity),
                unit=unit.rec_name)
        line['product_id'] = product.id
    return order


# -- order intake ----------------------------------------------------------

def _read_committed(transaction):
    """Run the intake transaction in READ COMMITTED on PostgreSQL so that the
    conditional UPDATE of a reservation re-reads the row a concurrent
    transaction just committed instead of failing the whole request with a
    serialization error (trytond's default is REPEATABLE READ)."""
    if backend.name == 'postgresql':
        from psycopg import IsolationLevel
        transaction.connection.isolation_level = (
            IsolationLevel.READ_COMMITTED)


def _get_party(customer):
    pool = Pool()
    Party = pool.get('party.party')
    Address = pool.get('party.address')
    ContactMechanism = pool.get('party.contact_mechanism')
    mechanisms = ContactMechanism.search([
            ('type', '=', 'email'),
            ('value', '=', customer['email']),
            ('party.active', '=', True),
            ], limit=1)
    address_values = {
        'street': customer['street'],
        'postal_code': customer['postal_code'],
        'city': customer['city'],
        'country': customer.get('country_id'),
        }
    if mechanisms:
        party = mechanisms[0].party
        for address in party.addresses:
            if all(getattr(address, k) == v or (
                        k == 'country' and getattr(address, k)
                        and address.country.id == v)
                    for k, v in address_values.items()):
                return party, address
        address, = Address.create([{**address_values, 'party': party.id}])
        return party, address
    party, = Party.create([{
                'name': customer['name'],
                'addresses': [('create', [address_values])],
                'contact_mechanisms': [('create', [{
                                'type': 'email',
                                'value': customer['email'],
                                }])],
                }])
    return party, party.addresses[0]


def create_order(order, user_id, key, digest):
    """Take the order in: create the draft sale, reserve its stock, store
    the response with the idempotency key and queue the rest of the work
    (quote, confirm, process, moves) as an ``ir.queue`` task; return
    (status, body).  Nothing is written when the order is refused."""
    pool = Pool()
    Sale = pool.get('sale.sale')
    Line = pool.get('sale.line')
    Channel = pool.get('inventory.channel')
    Product = pool.get('product.product')
    Idempotency = pool.get('inventory.api.idempotency')
    Date = pool.get('ir.date')
    from .reservation import (
        insert_reservations, is_short, plan_lines, reserve_lines)

    channel = Channel(order['channel_id'])
    warehouse = channel.warehouse
    today = Date.today()
    products = Product.browse([d['product_id'] for d in order['lines']])
    lines = [(i, product, float(data['quantity']))
        for i, (product, data) in enumerate(zip(products, order['lines']))]
    all_or_nothing = channel.reservation_policy == 'all_or_nothing'

    def insufficient():
        return error(409, 'insufficient_stock',
            extra={'short': [{'sku': p.code, 'quantity': q}
                    for _, p, q in lines]})

    # Read only: a short all-or-nothing order is refused before any write
    labels = {}
    plan = plan_lines(warehouse, channel, lines, today, labels)
    if all_or_nothing and is_short(plan):
        raise insufficient()
    existing = Sale.search([
            ('channel', '=', channel.id),
            ('channel_reference', '=', order['channel_reference']),
            ], limit=1)
    if existing:
        raise error(409, 'duplicate_order',
            reference=order['channel_reference'],
            extra={'order_id': existing[0].id})
    party, address = _get_party(order['customer'])
    sale = Sale(
        company=channel.company, party=party,
        currency=channel.company.currency,
        warehouse=warehouse, channel=channel,
        channel_reference=order['channel_reference'],
        requested_carrier=order['carrier'],
        reference=order['channel_reference'],
        description=f"{channel.code} {order['channel_reference']}")
    sale.on_change_party()
    sale.invoice_address = address
    sale.shipment_address = address
    sale.invoice_method = 'manual'
    sale.shipment_method = 'order'
    sale.shipping_date = order['requested_ship_date']
    sale_lines = []
    for (_, product, quantity), data in zip(lines, order['lines']):
        line = Line(sale=sale, type='line', product=product)
        line.on_change_product()
        line.unit = product.default_uom
        line.quantity = quantity
        line.unit_price = data['unit_price']
        sale_lines.append(line)
    try:
        Sale.save([sale])
    except backend.DatabaseIntegrityError:
        raise error(409, 'duplicate_order',
            reference=order['channel_reference'])
    # Saved on their own so that the instances get their ids
    Line.save(sale_lines)
    # Lock late: the contended availability rows are updated last, so their
    # row locks are held until the commit only
    plan = reserve_lines(warehouse, channel, lines, today, labels, plan=plan)
    if plan is None:
        raise insufficient()
    insert_reservations(sale.id, {i: l.id for i, l in enumerate(sale_lines)},
        lines, plan, {k: v[:2] for k, v in labels.items()})
    Sale.__queue__.process_api_order([sale])
    body = received_json(sale, sale_lines, lines, plan, labels)
    Idempotency.create([{
                'key': key, 'user': user_id, 'request_hash': digest,
                'state': 'done', 'claimed_at': dt.datetime.now(),
                'response_status': 201,
                'response_body': json.dumps(body, default=str),
                'sale': sale.id,
                }])
    return 201, body


def _price(value):
    return str(Decimal(value).quantize(Decimal('0.0001')))


def received_json(sale, sale_lines, lines, plan, labels):
    """The API representation of an order just taken in, from memory (the
    same shape as :func:`order_json`, state ``received``)."""
    result = []
    for sale_line, (key, product, quantity) in zip(sale_lines, lines):
        allocation = plan[key]
        reserved = sum(q for _, q in allocation.lines)
        reservations = []
        for row_id, q in allocation.lines:
            _, _, label, number, expiry = labels[row_id]
            reservations.append({
                    'bin': label, 'lot': number,
                    'expiration_date': expiry.isoformat() if expiry else None,
                    'quantity': q, 'state': 'reserved',
                    })
        result.append({
                'id': sale_line.id,
                'sku': product.code,
                'quantity': quantity,
                'unit_price': _price(sale_line.unit_price),
                'reserved': round(reserved, 6),
                'backorder': round(max(quantity - reserved, 0), 6),
                'reservations': reservations,
                })
    return {
        'id': sale.id,
        'number': None,
        'channel': sale.channel.code,
        'channel_reference': sale.channel_reference,
        'state': 'received',
        'error': None,
        'shipment_state': 'none',
        'requested_ship_date': (
            sale.shipping_date.isoformat() if sale.shipping_date else None),
        'carrier': sale.requested_carrier,
        'lines': result,
        'shipments': [],
        }


def order_json(sale):
    "Return the API representation of a sale"
    lines = []
    by_line = {}
    for reservation in sale.reservations:
        by_line.setdefault(reservation.sale_line.id, []).append(reservation)
    for line in sale.lines:
        if line.type != 'line':
            continue
        reservations = by_line.get(line.id, [])
        reserved = sum(r.quantity for r in reservations
            if r.state in {'reserved', 'consumed'})
        lines.append({
                'id': line.id,
                'sku': line.product.code if line.product else None,
                'quantity': line.quantity,
                'unit_price': _price(line.unit_price),
                'reserved': round(reserved, 6),
                'backorder': round(max(line.quantity - reserved, 0), 6),
                'reservations': [{
                        'bin': r.location.code or r.location.name,
                        'lot': r.lot.number if r.lot else None,
                        'expiration_date': (
                            r.lot.expiration_date.isoformat()
                            if r.lot and r.lot.expiration_date else None),
                        'quantity': r.quantity,
                        'state': r.state,
                        } for r in reservations],
                })
    return {
        'id': sale.id,
        'number': sale.number,
        'channel': sale.channel.code if sale.channel else None,
        'channel_reference': sale.channel_reference,
        # A draft order of the API waits for its queued processing, or was
        # held by it (its reservation released, the error recorded)
        'state': ('held' if sale.api_error else 'received')
        if sale.state == 'draft' else sale.state,
        'error': sale.api_error or None,
        'shipment_state': sale.shipment_state,
        'requested_ship_date': (
            sale.shipping_date.isoformat() if sale.shipping_date else None),
        'carrier': sale.requested_carrier,
        'lines': lines,
        'shipments': [{
                'id': s.id,
                'number': s.number,
                'state': s.state,
                'carrier': s.carrier.rec_name if s.carrier else None,
                'tracking': getattr(s, 'shipping_reference', None),
                } for s in sale.shipments],
        }


@with_transaction(readonly=True)
@user_application('inventory', json=False)
def _claim(request, pool):
    """Authenticate, validate and resolve in a short read-only transaction;
    return (order, user, key, digest) or a Response to send as is (a
    replay)."""
    with Transaction().set_context(language=_language(request)):
        return _claim_in_language(request, pool)


def _replay(claim, digest, key):
    "The answer to a request whose key is known, or None to take it over"
    if claim.request_hash != digest:
        raise error(422, 'idempotency_key_reused', key=key)
    if claim.state == 'done':
        return Response(claim.response_body,
            status=claim.response_status,
            content_type='application/json',
            headers={'Idempotent-Replayed': 'true'})
    if dt.datetime.now() - claim.claimed_at < IN_FLIGHT_TIMEOUT:
        raise error(409, 'request_in_flight', key=key)


def _claim_in_language(request, pool):
    Idempotency = pool.get('inventory.api.idempotency')
    Date = pool.get('ir.date')
    _check_integration()
    if request.method != 'POST':
        raise error(405, 'method_not_allowed', method=request.method)
    user_id = Transaction().user
    mimetype = (request.mimetype or '').lower()
    if mimetype != 'application/json':
        raise error(415, 'unsupported_media_type')
    key = request.headers.get('Idempotency-Key')
    if not key:
        raise error(400, 'missing_idempotency_key')
    if not KEY.match(key):
        raise error(400, 'invalid_idempotency_key')
    raw = request.get_data(cache=True)
    try:
        data = json.loads(raw.decode('utf-8'))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise error(400, 'invalid_json')
    digest = canonical_hash(data)
    with without_check_access():
        existing = Idempotency.search([('key', '=', key)], limit=1)
        if existing:
            replay = _replay(existing[0], digest, key)
            if replay is not None:
                return replay
        order = validate_order(data, Date.today())
        order = resolve_order(order)
    return order, user_id, key, digest


def _lock_key(transaction, key):
    """Take a transaction-level advisory lock on the idempotency key
    (PostgreSQL): a concurrent request with the same key is answered 409 at
    once, and the lock vanishes with the transaction — also when the server
    is killed — so no claim ever outlives a crash.  SQLite serialises the
    writers and the unique key does the rest."""
    if backend.name != 'postgresql':
        return
    number = int.from_bytes(
        hashlib.sha256(key.encode('utf-8')).digest()[:8], 'big',
        signed=True)
    cursor = transaction.connection.cursor()
    cursor.execute('SELECT pg_try_advisory_xact_lock(%s)', (number,))
    if not cursor.fetchone()[0]:
        raise error(409, 'request_in_flight', key=key)


def _intake(pool, order, user_id, key, digest):
    """Create the order in one READ COMMITTED transaction (retried on
    serialization errors) that also stores the response with its key:
    an acknowledged order always has its key, a key never exists without
    its order.  Return (status, body, replayed Response or None)."""
    from trytond.worker import run_task
    Channel = pool.get('inventory.channel')
    Idempotency = pool.get('inventory.api.idempotency')
    retry = config.getint('database', 'retry')
    for count in range(retry + 1):
        if count:
            time.sleep(0.02 * count)
        with Transaction().start(
                pool.database_name, user_id, readonly=False) as transaction:
            _read_committed(transaction)
            try:
                with without_check_access():
                    _lock_key(transaction, key)
                    # Another request with the key may have committed since
                    # the read-only check
                    existing = Idempotency.search(
                        [('key', '=', key)], limit=1)
                    if existing:
                        replay = _replay(existing[0], digest, key)
                        if replay is not None:
                            transaction.rollback()
                            return None, None, replay
                        Idempotency.delete(existing)
                    company = Channel(order['channel_id']).company.id
                    with transaction.set_context(
                            company=company, companies=[company]):
                        status, body = create_order(
                            order, user_id, key, digest)
                transaction.commit()
            except backend.DatabaseIntegrityError:
                # The key inserted by a concurrent request (SQLite)
                transaction.rollback()
                transaction.tasks.clear()
                raise error(409, 'request_in_flight', key=key)
            except backend.DatabaseOperationalError:
                transaction.rollback()
                transaction.tasks.clear()
                if count < retry:
                    continue
                raise
            except UserError as e:
                transaction.rollback()
                transaction.tasks.clear()
                raise ApiError(422, 'rejected', e.message)
            except UserWarning as e:
                transaction.rollback()
                transaction.tasks.clear()
                raise ApiError(422, 'rejected', e.message)
            except BaseException:
                transaction.rollback()
                transaction.tasks.clear()
                raise
        # Without a queue worker, the tasks run here after the commit, as
        # trytond's dispatcher does; with one, the answer does not wait
        while transaction.tasks:
            run_task(pool, transaction.tasks.pop())
        return status, body, None


@app.route(PREFIX + '/orders', methods=ALL_METHODS)
@set_max_request_size(MAX_BODY)
@json_errors
@with_pool
@json_errors
def orders(request, pool):
    claimed = _claim(request, pool)
    if isinstance(claimed, Response):
        return claimed
    order, user_id, key, digest = claimed
    status, body, replay = _intake(pool, order, user_id, key, digest)
    if replay is not None:
        return replay
    return json_response(body, status=status, headers={
            'Location': request.base_url.rstrip('/') + f"/{body['id']}"})


@with_transaction(readonly=True)
@user_application('inventory', json=False)
def _get_order(request, pool, order_id):
    with Transaction().set_context(language=_language(request)):
        return _get_order_in_language(request, pool, order_id)


def _get_order_in_language(request, pool, order_id):
    Sale = pool.get('sale.sale')
    _check_integration()
    if request.method != 'GET':
        raise error(405, 'method_not_allowed', method=request.method)
    # Any path segment reaches here (not only digits) so that a malformed
    # id gets the API's JSON 404 after authentication, not an HTML page.
    if not (order_id.isascii() and order_id.isdigit()
            and 0 < len(order_id) <= 18 and int(order_id)):
        raise error(404, 'order_not_found', id=order_id[:64])
    with without_check_access():
        sales = Sale.search([
                ('id', '=', int(order_id)), ('channel', '!=', None)])
        if not sales:
            raise error(404, 'order_not_found', id=order_id)
        return json_response(order_json(sales[0]))


@app.route(PREFIX + '/orders/<order_id>', methods=ALL_METHODS)
@json_errors
@with_pool
@json_errors
def order(request, pool, order_id):
    return _get_order(request, pool, order_id)


@with_transaction(readonly=True)
@user_application('inventory', json=False)
def _get_stock(request, pool):
    with Transaction().set_context(language=_language(request)):
        return _get_stock_in_language(request, pool)


def _get_stock_in_language(request, pool):
    pool_ = Pool()
    Product = pool_.get('product.product')
    Availability = pool_.get('stock.availability')
    Location = pool_.get('stock.location')
    Date = pool_.get('ir.date')
    _check_integration()
    if request.method != 'GET':
        raise error(405, 'method_not_allowed', method=request.method)
    sku = request.args.get('sku')
    gtin = request.args.get('gtin')
    if bool(sku) == bool(gtin) or len(sku or gtin) > 64:
        raise error(400, 'sku_or_gtin', field='sku')
    with without_check_access():
        if sku:
            products = Product.search([('code', '=', sku)], limit=1)
        else:
            products = Product.search([('gtin', '=', gtin)], limit=1)
        if not products:
            raise error(404, 'unknown_product', field='sku' if sku else 'gtin',
                value=sku or gtin)
        product, = products
        today = Date.today()
        result = []
        for warehouse in Location.search([('type', '=', 'warehouse')]):
            if not warehouse.storage_location:
                continue
            rows = Availability.stock_rows(warehouse, [product.id])
            on_hand = sum(on_hand for on_hand, _, _ in rows)
            reserved = sum(reserved for _, reserved, _ in rows)
            available = sum(c.available for _, _, c in rows
                if is_allocatable(c, today))
            result.append({
                    'warehouse': warehouse.code or warehouse.name,
                    'on_hand': round(on_hand, 6),
                    'reserved': round(reserved, 6),
                    'available': round(available, 6),
                    })
        return json_response({
                'sku': product.code, 'gtin': product.gtin,
                'unit': product.default_uom.symbol, 'warehouses': result})


@app.route(PREFIX + '/stock', methods=ALL_METHODS)
@json_errors
@with_pool
@json_errors
def stock(request, pool):
    return _get_stock(request, pool)


@with_transaction(readonly=True)
def _refuse_method(request, pool):
    with Transaction().set_context(language=_language(request)):
        raise error(405, 'method_not_allowed', method=request.method)


@app.route(PREFIX + '/openapi.yaml', methods=ALL_METHODS)
@json_errors
@with_pool
@json_errors
def openapi(request, pool):
    if request.method != 'GET':
        _refuse_method(request, pool)
    with open(OPENAPI, 'rb') as fp:
        return Response(fp.read(), content_type='application/yaml')
