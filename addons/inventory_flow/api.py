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
import threading
import time
from collections import deque, namedtuple
from decimal import Decimal, InvalidOperation
from functools import wraps
from types import SimpleNamespace

from sql import Literal

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
from trytond.modules.product.uom import _round as uom_round
from trytond.wsgi import app

from .allocation import is_allocatable
from .scanner import freeze_heap

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
    order = fields.Many2One('inventory.api.order', "Order", readonly=True,
        ondelete='SET NULL',
        help="The order the request took in.")

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
    # Tryton's cached groups of the user (cleared when groups change)
    return group_id in User.get_groups()


def _check_integration():
    if not _is_integration_user():
        raise error(403, 'forbidden')


#: A product of an order line as the intake resolved it
OrderProduct = namedtuple('OrderProduct', 'id code expiration_state')
#: A sales channel as the intake reads it
OrderChannel = namedtuple('OrderChannel', [
        'id', 'code', 'company', 'warehouse', 'reservation_policy',
        'minimum_shelf_life', 'storage_left', 'storage_right'])


def resolve_order(order):
    """Resolve the channel, the country and the products of a validated
    order in a few set-based reads; raise ApiError for unknown or
    unsellable ones.  Return (order, channel, {line index: OrderProduct})."""
    pool = Pool()
    Channel = pool.get('inventory.channel')
    Product = pool.get('product.product')
    Template = pool.get('product.template')
    Uom = pool.get('product.uom')
    Location = pool.get('stock.location')
    Country = pool.get('country.country')
    cursor = Transaction().connection.cursor()
    channel = Channel.__table__()
    warehouse = Location.__table__()
    storage = Location.__table__()
    cursor.execute(*channel.join(warehouse,
            condition=channel.warehouse == warehouse.id
            ).join(storage, 'LEFT',
            condition=warehouse.storage_location == storage.id
            ).select(channel.id, channel.code, channel.company,
            channel.warehouse, channel.reservation_policy,
            channel.minimum_shelf_life, storage.left, storage.right,
            where=(channel.code == order['channel'])
            & (channel.active == Literal(True)),
            limit=1))
    row = cursor.fetchone()
    if not row or row[-1] is None:
        raise error(422, 'unknown_channel', value=order['channel'])
    channel = OrderChannel(*row)
    if order['customer']['country']:
        countries = Country.search(
            [('code', '=', order['customer']['country'])], limit=1)
        if not countries:
            raise error(422, 'invalid_value',
                field='customer.address.country',
                value=order['customer']['country'])
        order['customer']['country_id'] = countries[0].id
    product = Product.__table__()
    template = Template.__table__()
    uom = Uom.__table__()
    columns = [product.id, product.code, template.salable, template.type,
        uom.rounding, uom.name, getattr(template, 'expiration_state',
            Literal('none'))]
    join = product.join(template,
        condition=product.template == template.id
        ).join(uom, condition=template.default_uom == uom.id)
    active = (product.active == Literal(True)) & (
        template.active == Literal(True))
    by_code = {}
    skus = sorted({l['sku'] for l in order['lines'] if l['sku']})
    if skus:
        cursor.execute(*join.select(*columns,
                where=product.code.in_(skus) & active))
        by_code = {r[1]: r for r in cursor}
    gtins = sorted({l['gtin'] for l in order['lines'] if l['gtin']})
    by_gtin = {}
    for gtin in gtins:
        found = Product.search([('gtin', '=', gtin)], limit=1)
        if found:
            cursor.execute(*join.select(*columns,
                    where=product.id == found[0].id))
            by_gtin[gtin] = cursor.fetchone()
    products = {}
    for index, line in enumerate(order['lines']):
        if line['sku']:
            row = by_code.get(line['sku'])
            if not row:
                raise error(422, 'unknown_product',
                    field=line['field'] + 'sku', value=line['sku'])
        else:
            row = by_gtin.get(line['gtin'])
            if not row:
                raise error(422, 'unknown_product',
                    field=line['field'] + 'gtin', value=line['gtin'])
        id_, code, salable, type_, rounding, unit_name, expiration = row
        if not salable or type_ != 'goods':
            raise error(422, 'product_not_salable', value=code or str(id_))
        quantity = line['quantity']
        rounded = uom_round(SimpleNamespace(rounding=rounding),
            float(quantity))
        if Decimal(str(rounded)) != quantity:
            raise error(422, 'quantity_precision',
                field=line['field'] + 'quantity', value=str(quantity),
                unit=unit_name)
        products[index] = OrderProduct(id_, code, expiration or 'none')
    return order, channel, products


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


def _insert(table, columns, values):
    "Insert one row with python-sql and return its id"
    transaction = Transaction()
    cursor = transaction.connection.cursor()
    if transaction.database.has_returning():
        cursor.execute(*table.insert(columns, [values],
                returning=[table.id]))
        return cursor.fetchone()[0]
    cursor.execute(*table.insert(columns, [values]))
    return cursor.lastrowid


def enqueue(Model, method, ids):
    """Queue ``Model.method(ids)`` for trytond's worker: the same task as
    ``Model.__queue__.method(ids)`` makes (same data, same notification,
    run after the commit when there is no worker), written with one INSERT
    — the ORM create of ``ir.queue`` and its validation were a quarter of
    the intake's CPU."""
    Queue = Pool().get('ir.queue')
    transaction = Transaction()
    context = transaction.context.copy()
    name = context.pop('queue_name', 'default')
    for key in ['queue_scheduled_at', 'queue_expected_at', 'queue_batch',
            '_check_access', 'language']:
        context.pop(key, None)
    data = {
        'model': Model.__name__,
        'method': method,
        'user': transaction.user,
        'context': context,
        'instances': list(ids),
        'args': [],
        'kwargs': {},
        }
    table = Queue.__table__()
    now = dt.datetime.now()
    task_id = _insert(table, [table.name, table.data, table.enqueued_at,
            table.create_uid, table.create_date],
        [name, Queue.data.sql_format(data), now, transaction.user, now])
    database = transaction.database
    if database.has_channel():
        database.notify(transaction.connection, Queue.__name__, '')
    if not config.getboolean('queue', 'worker', default=False):
        transaction.tasks.append(task_id)
    return task_id


def create_order(order, channel, products, user_id, key, digest):
    """Take the order in: store it (``inventory.api.order``), reserve its
    stock, store the response with the idempotency key and queue the making
    of its sale (party, sale, quote, confirm, process, moves) as an
    ``ir.queue`` task; return (status, body).  A few statements, no ORM
    document: Tryton's documents are the task's work.  Nothing is written
    when the order is refused."""
    pool = Pool()
    ApiOrder = pool.get('inventory.api.order')
    Idempotency = pool.get('inventory.api.idempotency')
    Date = pool.get('ir.date')
    from .reservation import (
        insert_reservations, is_short, plan_lines, reserve_lines)
    transaction = Transaction()
    cursor = transaction.connection.cursor()

    today = Date.today()
    lines = [(i, products[i], float(data['quantity']))
        for i, data in enumerate(order['lines'])]
    all_or_nothing = channel.reservation_policy == 'all_or_nothing'

    def insufficient():
        return error(409, 'insufficient_stock',
            extra={'short': [{'sku': p.code, 'quantity': q}
                    for _, p, q in lines]})

    # Read only: a short all-or-nothing order is refused before any write
    labels = {}
    bounds = (channel.storage_left, channel.storage_right)
    plan = plan_lines(bounds, channel, lines, today, labels)
    if all_or_nothing and is_short(plan):
        raise insufficient()
    table = ApiOrder.__table__()
    cursor.execute(*table.select(table.id,
            where=(table.channel == channel.id)
            & (table.channel_reference == order['channel_reference']),
            limit=1))
    existing = cursor.fetchone()
    if existing:
        raise error(409, 'duplicate_order',
            reference=order['channel_reference'],
            extra={'order_id': existing[0]})
    customer = order['customer']
    data = {
        'customer': customer,
        'carrier': order['carrier'],
        'requested_ship_date': (order['requested_ship_date'].isoformat()
            if order['requested_ship_date'] else None),
        'lines': [{
                'product': products[i].id, 'sku': products[i].code,
                'quantity': q, 'unit_price': str(l['unit_price']),
                } for (i, _, q), l in zip(lines, order['lines'])],
        }
    now = dt.datetime.now()
    try:
        order_id = _insert(table, [table.channel, table.channel_reference,
                table.user, table.received_at, table.customer_name,
                table.customer_email, table.data, table.state,
                table.create_uid, table.create_date],
            [channel.id, order['channel_reference'], user_id, now,
                customer['name'], customer['email'],
                json.dumps(data, separators=(',', ':')), 'received',
                user_id, now])
    except backend.DatabaseIntegrityError:
        raise error(409, 'duplicate_order',
            reference=order['channel_reference'])
    # Lock late: the contended availability rows are updated last, so their
    # row locks are held until the commit only
    plan = reserve_lines(bounds, channel, lines, today, labels, plan=plan)
    if plan is None:
        raise insufficient()
    insert_reservations(order_id, lines, plan,
        {k: v[:2] for k, v in labels.items()})
    with transaction.set_context(company=channel.company,
            companies=[channel.company]):
        enqueue(ApiOrder, 'process', [order_id])
    reservations = {}
    for index, _, _ in lines:
        for row_id, quantity in plan[index].lines:
            _, _, label, number, expiry = labels[row_id]
            reservations.setdefault(index + 1, []).append(
                (label, number, expiry, quantity, 'reserved'))
    body = pending_json(order_id, channel.code, order['channel_reference'],
        data, reservations, 'received', None)
    idempotency = Idempotency.__table__()
    _insert(idempotency, [idempotency.key, idempotency.user,
            idempotency.request_hash, idempotency.state,
            idempotency.claimed_at, idempotency.response_status,
            idempotency.response_body, idempotency.order,
            idempotency.create_uid, idempotency.create_date],
        [key, user_id, digest, 'done', now, 201,
            json.dumps(body, default=str), order_id, user_id, now])
    return 201, body


def _price(value):
    return str(Decimal(value).quantize(Decimal('0.0001')))


def line_json(number, sku, quantity, unit_price, reservations):
    """The API representation of an order line; ``reservations`` are
    (bin, lot, expiry, quantity, state)"""
    reserved = sum(q for _, _, _, q, s in reservations
        if s in {'reserved', 'consumed'})
    return {
        'line': number,
        'sku': sku,
        'quantity': quantity,
        'unit_price': _price(unit_price),
        'reserved': round(reserved, 6),
        'backorder': round(max(quantity - reserved, 0), 6),
        'reservations': [{
                'bin': label, 'lot': lot,
                'expiration_date': expiry.isoformat() if expiry else None,
                'quantity': q, 'state': s,
                } for label, lot, expiry, q, s in reservations],
        }


def pending_json(order_id, channel_code, reference, data, reservations,
        state, error_):
    """The API representation of an order without sale yet (taken in,
    held before its sale was made or cancelled), from its data and its
    reservations {line number: [(bin, lot, expiry, quantity, state)]}: the
    same shape as :func:`order_json`."""
    result = [line_json(number, line['sku'], line['quantity'],
            line['unit_price'], reservations.get(number, []))
        for number, line in enumerate(data['lines'], 1)]
    return {
        'id': order_id,
        'number': None,
        'channel': channel_code,
        'channel_reference': reference,
        'state': state,
        'error': error_,
        'shipment_state': 'none',
        'requested_ship_date': data.get('requested_ship_date'),
        'carrier': data.get('carrier'),
        'lines': result,
        'shipments': [],
        }


def _reservation_tuple(r):
    return (r.location.code or r.location.name,
        r.lot.number if r.lot else None,
        r.lot.expiration_date if r.lot else None, r.quantity, r.state)


def api_order_json(api_order):
    "Return the API representation of an order taken in by the API"
    if not api_order.sale:
        reservations = {}
        for r in sorted(api_order.reservations, key=lambda r: r.id):
            reservations.setdefault(r.line, []).append(_reservation_tuple(r))
        return pending_json(api_order.id, api_order.channel.code,
            api_order.channel_reference, api_order.order, reservations,
            api_order.state, api_order.error)
    return order_json(api_order.sale, api_order)


def order_json(sale, api_order):
    "Return the API representation of the sale of an API order"
    by_line = {}
    for reservation in sorted(sale.reservations, key=lambda r: r.id):
        by_line.setdefault(reservation.sale_line.id, []).append(reservation)
    sale_lines = sorted((l for l in sale.lines if l.type == 'line'),
        key=lambda l: l.id)
    lines = [line_json(number,
            line.product.code if line.product else None, line.quantity,
            line.unit_price,
            [_reservation_tuple(r) for r in by_line.get(line.id, [])])
        for number, line in enumerate(sale_lines, 1)]
    if api_order.state in {'held', 'cancelled'}:
        state = api_order.state
    elif sale.state == 'draft':
        # Made, waiting for its processing (or held by it)
        state = 'held' if sale.api_error else 'received'
    else:
        state = sale.state
    return {
        'id': api_order.id,
        'number': sale.number,
        'channel': api_order.channel.code,
        'channel_reference': api_order.channel_reference,
        'state': state,
        'error': api_order.error or sale.api_error or None,
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


def _known_key(key):
    "The stored request of an idempotency key: (id, hash, state, claimed at, status, body)"
    Idempotency = Pool().get('inventory.api.idempotency')
    table = Idempotency.__table__()
    cursor = Transaction().connection.cursor()
    cursor.execute(*table.select(table.id, table.request_hash, table.state,
            table.claimed_at, table.response_status, table.response_body,
            where=table.key == key, limit=1))
    return cursor.fetchone()


def _replay(known, digest, key):
    "The answer to a request whose key is known, or None to take it over"
    _, request_hash, state, claimed_at, status, body = known
    if request_hash != digest:
        raise error(422, 'idempotency_key_reused', key=key)
    if state == 'done':
        return Response(body, status=status,
            content_type='application/json',
            headers={'Idempotent-Replayed': 'true'})
    if isinstance(claimed_at, str):
        claimed_at = dt.datetime.fromisoformat(claimed_at)
    if dt.datetime.now() - claimed_at < IN_FLIGHT_TIMEOUT:
        raise error(409, 'request_in_flight', key=key)


@user_application('inventory', json=False)
def _take_in(request, pool):
    """Authenticate, validate, resolve and take the order in, in the
    request's one transaction; return (status, body) or a Response to send
    as is (a replay)."""
    transaction = Transaction()
    with transaction.set_context(language=_language(request)), \
            without_check_access():
        try:
            return _take_in_language(request, pool, transaction)
        except (UserError, UserWarning) as e:
            raise ApiError(422, 'rejected', e.message)


def _take_in_language(request, pool, transaction):
    Idempotency = pool.get('inventory.api.idempotency')
    Date = pool.get('ir.date')
    _check_integration()
    if request.method != 'POST':
        raise error(405, 'method_not_allowed', method=request.method)
    user_id = transaction.user
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
    # A concurrent request with the same key gets 409 at once
    _lock_key(transaction, key)
    known = _known_key(key)
    if known:
        replay = _replay(known, digest, key)
        if replay is not None:
            return replay
        # An in-flight row of the previous version, lost: taken over
        Idempotency.delete([Idempotency(known[0])])
    order = validate_order(data, Date.today())
    order, channel, products = resolve_order(order)
    return create_order(order, channel, products, user_id, key, digest)


class FairSlots:
    """At most ``size`` holders at once; the others wait in arrival order
    (a plain semaphore lets a newcomer overtake a thread it just woke,
    which makes the slowest requests much slower)"""

    def __init__(self, size):
        self.size = size
        self.lock = threading.Lock()
        self.waiting = deque()
        self.held = 0

    def __enter__(self):
        with self.lock:
            if self.held < self.size and not self.waiting:
                self.held += 1
                return self
            turn = threading.Event()
            self.waiting.append(turn)
        turn.wait()
        return self

    def __exit__(self, *exc_info):
        with self.lock:
            if self.waiting:
                # The slot passes to the first in line
                self.waiting.popleft().set()
            else:
                self.held -= 1


#: Order intakes one server process runs at once; the others wait their
#: turn, in order, before starting their transaction (``[inventory]
#: api_intakes``).  More at once only share the CPU and the hot rows'
#: locks: 16 at once took 119 orders/s, 2 per process 260 (see
#: docs/reservation.md).
_INTAKE_SLOTS = FairSlots(
    max(1, config.getint('inventory', 'api_intakes', default=2)))


def _intake(request, pool):
    freeze_heap(pool.database_name)
    with _INTAKE_SLOTS:
        return _intake_now(request, pool)


def _intake_now(request, pool):
    """Run the intake in one READ COMMITTED transaction (retried on
    serialization errors) that also stores the response with its key:
    an acknowledged order always has its key, a key never exists without
    its order.  Return (status, body) or a Response (a replay)."""
    from trytond.worker import run_task
    retry = config.getint('database', 'retry')
    for count in range(retry + 1):
        if count:
            time.sleep(0.02 * count)
        with Transaction().start(pool.database_name, 0, readonly=False,
                context={'_request': request.context}) as transaction:
            _read_committed(transaction)
            try:
                result = _take_in(request, pool)
                if isinstance(result, Response):
                    transaction.rollback()
                    return result
                transaction.commit()
            except backend.DatabaseIntegrityError:
                # The key inserted by a concurrent request (SQLite)
                transaction.rollback()
                transaction.tasks.clear()
                key = request.headers.get('Idempotency-Key')
                raise error(409, 'request_in_flight', key=key)
            except backend.DatabaseOperationalError:
                transaction.rollback()
                transaction.tasks.clear()
                if count < retry:
                    continue
                raise
            except BaseException:
                transaction.rollback()
                transaction.tasks.clear()
                raise
        # Without a queue worker, the tasks run here after the commit, as
        # trytond's dispatcher does; with one, the answer does not wait
        while transaction.tasks:
            run_task(pool, transaction.tasks.pop())
        return result


@app.route(PREFIX + '/orders', methods=ALL_METHODS)
@set_max_request_size(MAX_BODY)
@json_errors
@with_pool
@json_errors
def orders(request, pool):
    result = _intake(request, pool)
    if isinstance(result, Response):
        return result
    status, body = result
    return json_response(body, status=status, headers={
            'Location': request.base_url.rstrip('/') + f"/{body['id']}"})


@with_transaction(readonly=True)
@user_application('inventory', json=False)
def _get_order(request, pool, order_id):
    with Transaction().set_context(language=_language(request)):
        return _get_order_in_language(request, pool, order_id)


def _get_order_in_language(request, pool, order_id):
    ApiOrder = pool.get('inventory.api.order')
    _check_integration()
    if request.method != 'GET':
        raise error(405, 'method_not_allowed', method=request.method)
    # Any path segment reaches here (not only digits) so that a malformed
    # id gets the API's JSON 404 after authentication, not an HTML page.
    if not (order_id.isascii() and order_id.isdigit()
            and 0 < len(order_id) <= 18 and int(order_id)):
        raise error(404, 'order_not_found', id=order_id[:64])
    with without_check_access():
        orders = ApiOrder.search([('id', '=', int(order_id))])
        if not orders:
            raise error(404, 'order_not_found', id=order_id)
        return json_response(api_order_json(orders[0]))


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
