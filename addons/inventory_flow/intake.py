"""Orders taken in by the API, before and after their sale exists (C1, C2).

The request of ``POST /orders`` writes only what the guarantees need: this
intake record (the order as the API validated and resolved it), its
reservation rows and the idempotency key, with one conditional UPDATE per
availability row in between — a handful of statements, no ORM document.
Tryton's documents follow in the queued task :meth:`ApiOrder.process`: party
and address, the sale with its lines (through the ORM, with all of Tryton's
validation), then quote, confirm, process and the assigned moves (see
``reservation.Sale.process_api_order``).  An order its processing refuses
for good is *held*: its reservation is released and the channel's owner is
told; a manager may retry or cancel it from the client.  See
``docs/reservation.md``.
"""
import datetime as dt
import json
import logging
from decimal import Decimal

from sql import Null

from trytond import backend, config
from trytond.exceptions import UserError, UserWarning
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Unique, Workflow, fields
from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction

logger = logging.getLogger(__name__)

#: At most this many waiting orders are made into sales by one task
API_BATCH = 20

STATES = [
    ('received', "Received"),
    ('processed', "Processed"),
    ('held', "Held"),
    ('cancelled', "Cancelled"),
    ]


class ApiOrder(Workflow, ModelSQL, ModelView):
    "API Order"
    __name__ = 'inventory.api.order'
    _rec_name = 'channel_reference'

    channel = fields.Many2One('inventory.channel', "Channel", required=True,
        readonly=True, ondelete='RESTRICT',
        help="The sales channel that sent the order.")
    channel_reference = fields.Char("Channel Reference", required=True,
        readonly=True,
        help="The order number in the sales channel; unique per channel.")
    user = fields.Many2One('res.user', "API User", readonly=True,
        ondelete='SET NULL',
        help="The integration user whose key sent the order.")
    received_at = fields.DateTime("Received At", required=True,
        readonly=True,
        help="When the API took the order in and reserved its stock.")
    customer_name = fields.Char("Customer", readonly=True,
        help="The customer's name as the channel sent it.")
    customer_email = fields.Char("E-Mail", readonly=True,
        help="The customer's e-mail, which finds the party again.")
    data = fields.Text("Order Data", readonly=True,
        help="The order as the API validated it (customer, address, lines "
        "with their products, quantities and prices), in JSON; the sale "
        "is made from it.")
    state = fields.Selection(STATES, "State", required=True, readonly=True,
        sort=False,
        help="Received: reserved, waiting for its queued processing. "
        "Processed: its sale exists. Held: its processing refused it (see "
        "the error); the reservation was released. Cancelled: its "
        "reservation was released, no sale is made.")
    sale = fields.Many2One('sale.sale', "Sale", readonly=True,
        ondelete='RESTRICT',
        help="The sale order made from the API order.")
    error = fields.Text("Processing Error", readonly=True,
        states={
            'invisible': ~Eval('error'),
            },
        help="Why the processing refused the order.")
    reservations = fields.One2Many('stock.reservation', 'api_order',
        "Reservations", readonly=True,
        help="The stock reserved at intake by bin and lot.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('channel_reference_unique',
                Unique(t, t.channel, t.channel_reference),
                'inventory_flow.msg_sale_channel_reference_unique'),
            ]
        cls._order = [('received_at', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {
            ('received', 'processed'),
            ('received', 'held'),
            ('received', 'cancelled'),
            ('held', 'received'),
            ('held', 'cancelled'),
            }
        cls._buttons.update({
                'retry': {
                    'invisible': (Eval('state') != 'held') | Eval('sale'),
                    'depends': ['state', 'sale'],
                    },
                'cancel': {
                    'invisible': ~Eval('state').in_(['received', 'held'])
                    | Eval('sale'),
                    'depends': ['state', 'sale'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'received'

    @property
    def order(self):
        "The validated order (dict) the sale is made from"
        return json.loads(self.data or '{}')

    @classmethod
    def delete(cls, orders):
        for order in orders:
            if order.state not in {'cancelled'}:
                raise AccessError(gettext(
                        'inventory_flow.msg_api_order_delete',
                        order=order.rec_name))
        super().delete(orders)

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, orders):
        """Give the reservation of orders without sale back: the channel
        withdrew the order, or a held order is not to be made"""
        from .reservation import release_pending
        for order in orders:
            if order.sale:
                raise AccessError(gettext(
                        'inventory_flow.msg_api_order_has_sale',
                        order=order.rec_name, sale=order.sale.rec_name))
        cls.lock(orders)
        release_pending(api_orders=orders)

    @classmethod
    @ModelView.button
    @Workflow.transition('received')
    def retry(cls, orders):
        """Make the sale of held orders again (after their data or the
        configuration was fixed).  Their reservation was released when they
        were held: Tryton's own assignment takes their stock then."""
        for order in orders:
            if order.sale:
                raise AccessError(gettext(
                        'inventory_flow.msg_api_order_has_sale',
                        order=order.rec_name, sale=order.sale.rec_name))
        cls.write(orders, {'error': None})
        cls.__queue__.process(orders)

    # -- the queued processing ---------------------------------------------

    @classmethod
    def _lock_batch(cls, orders):
        """Lock the orders to make with ``orders`` and return them.

        With a queue worker on PostgreSQL, other received orders join them,
        up to API_BATCH, so that a worker busy with a burst makes and
        processes them together — Tryton's document work costs far less per
        order in a batch.  The rows are locked by ``FOR UPDATE SKIP
        LOCKED``: an order another worker holds is in that worker's batch
        and is left to it (even one of ``orders``), so that two workers
        never wait for, nor fail on, each other's locks.  Otherwise the
        orders are locked with trytond's ``lock`` (the transaction restarts
        to take the locks before any work)."""
        transaction = Transaction()
        if (backend.name != 'postgresql'
                or not config.getboolean('queue', 'worker', default=False)
                or not transaction.context.get('api_batch', True)):
            cls.lock(orders)
            return list(orders)
        table = cls.__table__()
        cursor = transaction.connection.cursor()
        waiting = (table.state == 'received') & (table.sale == Null)
        skip_locked = transaction.database.get_select_for_skip_locked()(
            'UPDATE')
        cursor.execute(*table.select(table.id,
                where=table.id.in_([o.id for o in orders]) & waiting,
                for_=skip_locked))
        ids = {r[0] for r in cursor}
        cursor.execute(*table.select(table.id,
                where=waiting, order_by=[table.id.asc], limit=API_BATCH,
                for_=skip_locked))
        ids.update(r[0] for r in cursor)
        return cls.browse(sorted(ids))

    @classmethod
    def process(cls, orders):
        """Make the sales of received API orders and process them (the
        ``ir.queue`` task queued at intake).  Safe to run twice: an order
        already made (e.g. in the batch of another task) is left alone."""
        pool = Pool()
        Sale = pool.get('sale.sale')
        own = [o for o in orders if o.state == 'received' and not o.sale]
        if not own:
            return
        # Lock first: any restart to take the locks happens before any work
        batch = cls._lock_batch(own)
        batch = [o for o in cls.browse(batch)
            if o.state == 'received' and not o.sale]
        if not batch:
            return
        made = cls._make_sales(batch)
        Sale.process_api_order([o.sale for o in cls.browse(made)])
        cls._set_state_from_sales(cls.browse(made))

    @classmethod
    def process_waiting(cls, older_than=dt.timedelta(minutes=2)):
        """Process the orders received more than ``older_than`` ago and
        still waiting (the scheduled action, every 5 minutes): the safety
        net of an order whose task was lost — say its batch failed in a
        worker for a reason trytond does not retry."""
        before = dt.datetime.now() - older_than
        # The few waiting orders; their age is compared here, in Python (a
        # domain on received_at found nothing on SQLite for an order of the
        # same second)
        orders = [o for o in cls.search([
                    ('state', '=', 'received'),
                    ('sale', '=', None),
                    ], order=[('id', 'ASC')], limit=API_BATCH * 10)
            if o.received_at < before][:API_BATCH]
        if orders:
            with Transaction().set_context(api_batch=False):
                cls.process(orders)

    @classmethod
    def _make_sales(cls, orders):
        """Make the sales of the orders in one batch; when one of them is
        refused (a UserError of Tryton's validation), each is made on its
        own and the refused ones are held.  Return the orders made."""
        transaction = Transaction()
        cursor = transaction.connection.cursor()
        cursor.execute('SAVEPOINT api_make')
        tasks = list(transaction.tasks)
        try:
            cls._create_sales(orders)
            return orders
        except (UserError, UserWarning) as exception:
            if len(orders) == 1:
                failures = [(orders[0], exception)]
            else:
                failures = None
            rollback_to_savepoint('api_make', tasks)
        made = []
        if failures is None:
            failures = []
            for order in cls.browse(orders):
                cursor.execute('SAVEPOINT api_make_one')
                try:
                    cls._create_sales([order])
                    made.append(order)
                except (UserError, UserWarning) as exception:
                    rollback_to_savepoint('api_make_one', tasks)
                    failures.append((order, exception))
        for order, exception in failures:
            logger.warning("API order %s held: %s", order.id,
                exception.message)
            cls.hold(cls.browse([order]), exception.message)
        return cls.browse(made)

    @classmethod
    def _create_sales(cls, orders):
        """Party, address, sale and lines of each order through the ORM;
        the reservation rows get their sale line"""
        pool = Pool()
        Sale = pool.get('sale.sale')
        Line = pool.get('sale.line')
        Product = pool.get('product.product')
        Reservation = pool.get('stock.reservation')
        sales, lines_of = [], []
        products = Product.browse(sorted({l['product'] for o in orders
                    for l in o.order['lines']}))
        products = {p.id: p for p in products}
        for order in orders:
            data = order.order
            channel = order.channel
            party, address = get_party(data['customer'])
            sale = Sale(
                company=channel.company, party=party,
                currency=channel.company.currency,
                warehouse=channel.warehouse, channel=channel,
                channel_reference=order.channel_reference,
                requested_carrier=data.get('carrier'),
                reference=order.channel_reference,
                description=f"{channel.code} {order.channel_reference}")
            sale.on_change_party()
            sale.invoice_address = address
            sale.shipment_address = address
            sale.invoice_method = 'manual'
            sale.shipment_method = 'order'
            if data.get('requested_ship_date'):
                sale.shipping_date = dt.date.fromisoformat(
                    data['requested_ship_date'])
            lines = []
            for values in data['lines']:
                product = products[values['product']]
                line = Line(sale=sale, type='line', product=product)
                line.on_change_product()
                line.unit = product.default_uom
                line.quantity = values['quantity']
                line.unit_price = Decimal(values['unit_price'])
                lines.append(line)
            sales.append(sale)
            lines_of.append(lines)
        Sale.save(sales)
        all_lines = [l for lines in lines_of for l in lines]
        Line.save(all_lines)
        line_ids = {}
        for order, sale, lines in zip(orders, sales, lines_of):
            for number, line in enumerate(lines, 1):
                line_ids[(order.id, number)] = (sale.id, line.id)
        reservations = Reservation.search([
                ('api_order', 'in', [o.id for o in orders]),
                ])
        to_write = []
        for reservation in reservations:
            sale_id, line_id = line_ids[
                (reservation.api_order.id, reservation.line)]
            to_write.extend(([reservation],
                    {'sale': sale_id, 'sale_line': line_id}))
        if to_write:
            Reservation.write(*to_write)
        for order, sale in zip(orders, sales):
            order.sale = sale
        cls.save(orders)

    @classmethod
    def _set_state_from_sales(cls, orders):
        "Processed, or held when the processing of the sale refused it"
        processed = [o for o in orders if o.state == 'received'
            and o.sale and not o.sale.api_error]
        held = [o for o in orders if o.state == 'received'
            and o.sale and o.sale.api_error]
        to_write = []
        if processed:
            to_write.extend((processed, {'state': 'processed'}))
        for order in held:
            to_write.extend(([order],
                    {'state': 'held', 'error': order.sale.api_error}))
        if to_write:
            cls.write(*to_write)

    @classmethod
    def hold(cls, orders, message):
        """Release the reservation of received orders whose sale cannot be
        made, record why and tell the channel's owner"""
        from .reservation import release_pending
        orders = [o for o in orders if o.state == 'received']
        if not orders:
            return
        release_pending(api_orders=orders)
        cls.write(orders, {'state': 'held', 'error': message})
        for order in orders:
            notify_held(order, message)


def rollback_to_savepoint(name, tasks):
    """Undo the work done since ``SAVEPOINT name``: its rows, the queue
    tasks it added (``tasks`` is the list before it) and the caches that
    may hold its records"""
    transaction = Transaction()
    transaction.connection.cursor().execute(f'ROLLBACK TO SAVEPOINT {name}')
    transaction.tasks[:] = tasks
    transaction.cache.clear()
    transaction.counter += 1


def notify_held(order, message):
    """Tell the owner of the channel of ``order`` (an API order or its sale)
    that its processing held it, and why"""
    notify_owner(order.channel, 'tryton-error',
        gettext('inventory_flow.msg_order_held_label',
            reference=order.channel_reference),
        gettext('inventory_flow.msg_order_held_description',
            channel=order.channel.code,
            reference=order.channel_reference, error=message),
        order)


def notify_owner(channel, icon, label, description, record):
    "Notify the owner of the channel (if any) about the record"
    Notification = Pool().get('res.notification')
    owner = channel.owner if channel else None
    if owner:
        Notification.create([{
                    'user': owner.id, 'label': label,
                    'description': description, 'icon': icon,
                    'model': record.__name__,
                    'records': json.dumps([record.id]),
                    }])


def get_party(customer):
    """The party of the customer (found by e-mail) and its address matching
    the order's, both created when missing"""
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
