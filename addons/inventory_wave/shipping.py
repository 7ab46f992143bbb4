"""Shipping a packed order and telling its sales channel (C5, D2).

* ``Ship`` on a packed outgoing shipment (a wizard in the web client, and
  :meth:`ShipmentOut.confirm_shipping` for the pack station) asks the
  carrier's adapter (``carrier_adapter.py``) for the tracking number — typed,
  scanned or booked — records carrier and number, and ships the shipment
  through Tryton's workflow (packed → shipped → done): the stock leaves, the
  reservations are consumed, the sale becomes shipped.
* Each shipped order of a channel with a webhook URL gets an
  ``inventory.webhook.event`` whose JSON body and id are fixed at creation;
  it is sent signed per Standard Webhooks (``webhook.py``) right after the
  commit by Tryton's queue, then retried by the scheduler with back-off
  until a 2xx answer: delivered at least once, de-duplicated by the receiver
  on the stable ``webhook-id``.
"""
import datetime as dt
import json
import uuid

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Unique, Workflow, fields
from trytond.model.exceptions import AccessError
from trytond.exceptions import UserError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from . import carrier_adapter, webhook


class ShippingError(UserError):
    "A shipment that cannot be shipped as asked"


class Carrier(metaclass=PoolMeta):
    __name__ = 'carrier'

    shipping_adapter = fields.Selection(
        'get_shipping_adapters', "Shipping Adapter", required=True,
        help="How the tracking number of a parcel is obtained: typed or "
        "scanned from the carrier's own label, or booked through the "
        "carrier's API.")

    @classmethod
    def default_shipping_adapter(cls):
        return 'manual'

    @classmethod
    def get_shipping_adapters(cls):
        return carrier_adapter.choices()


class Channel(metaclass=PoolMeta):
    __name__ = 'inventory.channel'

    webhook_url = fields.Char("Webhook URL",
        help="Where the channel is told of shipped orders (an http or https "
        "URL); empty for no notification.")
    webhook_secret = fields.Char("Webhook Secret", readonly=True,
        help="The key the notifications are signed with (Standard "
        "Webhooks, whsec_…); give it to the channel to check signatures.")
    webhook_events = fields.One2Many(
        'inventory.webhook.event', 'channel', "Webhook Events", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'new_webhook_secret': {
                    'invisible': ~Eval('webhook_url'),
                    'icon': 'tryton-refresh',
                    'depends': ['webhook_url'],
                    },
                })

    @classmethod
    def default_webhook_secret(cls):
        return webhook.generate_secret()

    @classmethod
    def validate_fields(cls, channels, field_names):
        super().validate_fields(channels, field_names)
        if field_names and 'webhook_url' not in field_names:
            return
        for channel in channels:
            if not channel.webhook_url:
                continue
            try:
                webhook.check_url(channel.webhook_url)
            except webhook.WebhookError as error:
                raise ShippingError(gettext(
                        'inventory_wave.msg_webhook_url_invalid',
                        channel=channel.rec_name,
                        url=channel.webhook_url[:200],
                        reason=gettext(
                            'inventory_wave.msg_webhook_%s' % error.code)))

    @classmethod
    @ModelView.button
    def new_webhook_secret(cls, channels):
        "Replace the signing secret (the channel must get the new one)"
        for channel in channels:
            channel.webhook_secret = webhook.generate_secret()
        cls.save(channels)


class Sale(metaclass=PoolMeta):
    __name__ = 'sale.sale'

    shipping_hold = fields.Boolean("Hold Shipping",
        help="Keep the order's parcels in the warehouse, e.g. until an "
        "unpaid order is paid.")
    shipping_hold_reason = fields.Char("Hold Reason",
        states={
            'invisible': ~Eval('shipping_hold'),
            'required': Bool(Eval('shipping_hold')),
            },
        help="Why the shipping is held.")


class ShipmentOut(metaclass=PoolMeta):
    __name__ = 'stock.shipment.out'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'ship_wizard': {
                    'invisible': Eval('state') != 'packed',
                    'icon': 'tryton-forward',
                    'depends': ['state'],
                    },
                })

    @classmethod
    @ModelView.button_action('inventory_wave.wizard_ship')
    def ship_wizard(cls, shipments):
        pass

    def shipping_parcel(self):
        "Return the carrier_adapter.Parcel of the shipment"
        address = self.delivery_address
        packages = getattr(self, 'root_packages', None) or []
        weight = sum(p.total_weight or 0 for p in packages
            if getattr(p, 'total_weight', None)) or None
        return carrier_adapter.Parcel(
            reference=self.number or str(self.id),
            recipient=(address.party_full_name if address else None)
            or self.customer.rec_name,
            country=(address.country.code
                if address and address.country else None),
            weight=weight, packages=len(packages))

    @property
    def sales(self):
        return {m.origin.sale for m in self.outgoing_moves
            if m.origin and m.origin.__name__ == 'sale.line'} | {
            m.origin.sale for m in self.inventory_moves
            if m.origin and m.origin.__name__ == 'sale.line'}

    def check_shippable(self):
        "Raise ShippingError unless the shipment may leave now"
        if self.state != 'packed':
            raise ShippingError(gettext(
                    'inventory_wave.msg_ship_not_packed',
                    shipment=self.rec_name,
                    state=dict(self.fields_get(['state'])['state'][
                            'selection']).get(self.state, self.state)))
        self.check_hold()

    def check_hold(self):
        "Raise ShippingError if an order of the shipment is held"
        for sale in self.sales:
            if sale.shipping_hold:
                raise ShippingError(gettext(
                        'inventory_wave.msg_ship_on_hold',
                        shipment=self.rec_name, sale=sale.rec_name,
                        reason=sale.shipping_hold_reason or ''))

    @classmethod
    def confirm_shipping(cls, shipments, carrier=None, tracking=None):
        """Ship the packed shipments with carrier (default: each one's) and
        the tracking number (typed or scanned; ignored by adapters that book
        their own), then queue the channels' notifications.  Validates
        everything before any write."""
        plan = []
        for shipment in shipments:
            shipment.check_shippable()
            ship_carrier = carrier or shipment.carrier
            if not ship_carrier:
                raise ShippingError(gettext(
                        'inventory_wave.msg_ship_no_carrier',
                        shipment=shipment.rec_name))
            adapter = carrier_adapter.get(ship_carrier.shipping_adapter)
            try:
                number = adapter.book(shipment.shipping_parcel(), tracking)
            except carrier_adapter.AdapterError as error:
                raise ShippingError(gettext(
                        'inventory_wave.msg_ship_%s' % error.code,
                        shipment=shipment.rec_name,
                        carrier=ship_carrier.rec_name,
                        value=error.value or ''))
            plan.append((shipment, ship_carrier, number))
        for shipment, ship_carrier, number in plan:
            shipment.carrier = ship_carrier
            shipment.shipping_reference = number
        cls.save([s for s, _, _ in plan])
        cls.ship(shipments)
        cls.do(shipments)

    @classmethod
    def ship(cls, shipments):
        for shipment in shipments:
            shipment.check_hold()
        super().ship(shipments)

    @classmethod
    def do(cls, shipments):
        """Also by Tryton's own Done button (e.g. a customer pick-up
        without tracking number): a held order never leaves, and every
        channel order shipped is notified."""
        pool = Pool()
        Event = pool.get('inventory.webhook.event')
        for shipment in shipments:
            if shipment.state != 'done':
                shipment.check_hold()
        to_notify = [s for s in shipments if s.state != 'done']
        super().do(shipments)
        Event.queue_delivery(Event.create_for_shipments(to_notify))


class WebhookEvent(Workflow, ModelSQL, ModelView):
    "Webhook Event"
    __name__ = 'inventory.webhook.event'

    channel = fields.Many2One('inventory.channel', "Channel", required=True,
        readonly=True, ondelete='CASCADE',
        help="The sales channel the event is sent to.")
    event_id = fields.Char("Event ID", required=True, readonly=True,
        help="The stable id sent as webhook-id: the same for every "
        "attempt, so the receiver can drop duplicates.")
    event_type = fields.Char("Type", required=True, readonly=True,
        help="What happened, e.g. order.shipped.")
    sale = fields.Many2One('sale.sale', "Order", readonly=True,
        ondelete='SET NULL')
    shipment = fields.Many2One('stock.shipment.out', "Shipment",
        readonly=True, ondelete='SET NULL')
    payload = fields.Text("Body", readonly=True,
        help="The JSON sent, fixed when the event is created.")
    state = fields.Selection([
            ('pending', "Pending"),
            ('delivered', "Delivered"),
            ('failed', "Given Up"),
            ], "State", required=True, readonly=True, sort=False)
    attempts = fields.Integer("Attempts", readonly=True)
    next_attempt = fields.DateTime("Next Attempt", readonly=True,
        help="When the scheduler sends it again.")
    last_status = fields.Integer("Last HTTP Status", readonly=True,
        help="0 when the receiver did not answer.")
    last_error = fields.Char("Last Error", readonly=True)
    delivered_at = fields.DateTime("Delivered At", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('event_id_unique', Unique(t, t.event_id),
                'inventory_wave.msg_webhook_event_unique'),
            ]
        cls._order = [('id', 'DESC')]
        cls._transitions |= {('failed', 'pending'), ('pending', 'pending')}
        cls._buttons.update({
                'retry': {
                    'invisible': Eval('state') != 'failed',
                    'icon': 'tryton-refresh',
                    'depends': ['state'],
                    },
                'send_now': {
                    'invisible': Eval('state') != 'pending',
                    'icon': 'tryton-launch',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'pending'

    @classmethod
    def default_attempts(cls):
        return 0

    def get_rec_name(self, name):
        return f'{self.event_type} {self.event_id}'

    @classmethod
    def create_for_shipments(cls, shipments):
        "Create the order.shipped events of the shipments' channel orders"
        now = dt.datetime.now()
        to_create = []
        for shipment in shipments:
            for sale in shipment.sales:
                channel = sale.channel
                if not channel or not channel.webhook_url:
                    continue
                to_create.append({
                        'channel': channel.id,
                        'event_id': 'msg_' + uuid.uuid4().hex,
                        'event_type': 'order.shipped',
                        'sale': sale.id,
                        'shipment': shipment.id,
                        'payload': json.dumps(
                            shipped_payload(sale, shipment, now),
                            separators=(',', ':'), sort_keys=True),
                        'next_attempt': now,
                        })
        if not to_create:
            return []
        # made by whoever ships (an operator), kept for the managers
        with without_check_access():
            return cls.create(to_create)

    @classmethod
    def queue_delivery(cls, events):
        "Send the events after the commit (Tryton's queue)"
        if events:
            with Transaction().set_context(queue_name='inventory_webhook'):
                cls.__queue__.deliver(events)

    @classmethod
    def deliver(cls, events, now=None):
        """Send each pending event once; schedule the failed ones again by
        the back-off of webhook.next_delay, give up after the last."""
        with without_check_access():
            cls._deliver(events, now=now)

    @classmethod
    def _deliver(cls, events, now=None):
        now = now or dt.datetime.now()
        events = [e for e in cls.browse(events) if e.state == 'pending']
        for event in events:
            channel = event.channel
            body = event.payload.encode('utf-8')
            if channel.webhook_url and channel.webhook_secret:
                status, error = webhook.post(channel.webhook_url, body,
                    webhook.headers(channel.webhook_secret, event.event_id,
                        dt.datetime.now().timestamp(), body))
            else:
                status, error = 0, "the channel has no webhook URL"
            event.attempts = (event.attempts or 0) + 1
            event.last_status = status
            if 200 <= status < 300:
                event.state = 'delivered'
                event.delivered_at = now
                event.next_attempt = None
                event.last_error = None
                continue
            event.last_error = error or f'HTTP {status}'
            delay = webhook.next_delay(event.attempts)
            if delay is None:
                event.state = 'failed'
                event.next_attempt = None
            else:
                event.next_attempt = now + dt.timedelta(seconds=delay)
        cls.save(events)

    @classmethod
    def deliver_due(cls, now=None, limit=500):
        "Scheduler: send the pending events whose next attempt is due"
        now = now or dt.datetime.now()
        events = cls.search([
                ('state', '=', 'pending'),
                ('next_attempt', '<=', now),
                ], order=[('next_attempt', 'ASC'), ('id', 'ASC')],
            limit=limit)
        cls.deliver(events, now=now)
        return events

    @classmethod
    @ModelView.button
    def send_now(cls, events):
        cls.deliver(events)

    @classmethod
    @ModelView.button
    @Workflow.transition('pending')
    def retry(cls, events):
        "Try a given-up event again, with a fresh series of attempts"
        cls.write(events, {
                'attempts': 0, 'next_attempt': dt.datetime.now(),
                'last_error': None})

    @classmethod
    def delete(cls, events):
        for event in events:
            if event.state == 'pending':
                raise AccessError(gettext(
                        'inventory_wave.msg_webhook_event_delete_pending',
                        event=event.rec_name))
        super().delete(events)


def api_order_id(sale):
    """The id the channel knows the order by: that of the API order the
    sale was made from (``POST /orders`` answered it)"""
    ApiOrder = Pool().get('inventory.api.order')
    with without_check_access():
        orders = ApiOrder.search([('sale', '=', sale.id)], limit=1)
    return orders[0].id if orders else None


def shipped_payload(sale, shipment, now):
    "Return the order.shipped body: Standard Webhooks' {type, timestamp, data}"
    lines = []
    for move in shipment.outgoing_moves:
        if move.state == 'cancelled':
            continue
        lines.append({
                'sku': move.product.code,
                'quantity': move.quantity,
                'lot': move.lot.number if getattr(move, 'lot', None) else None,
                })
    return {
        'type': 'order.shipped',
        'timestamp': now.replace(microsecond=0).isoformat() + 'Z',
        'data': {
            'order_id': api_order_id(sale),
            'order_number': sale.number,
            'channel': sale.channel.code,
            'channel_reference': sale.channel_reference,
            'shipment': shipment.number,
            'carrier': shipment.carrier.rec_name if shipment.carrier else None,
            'tracking': shipment.shipping_reference,
            'lines': lines,
            },
        }


class ShipStart(ModelView):
    "Ship Packed Shipment"
    __name__ = 'stock.shipment.out.ship.start'

    shipment = fields.Many2One('stock.shipment.out', "Shipment",
        readonly=True)
    carrier = fields.Many2One('carrier', "Carrier", required=True,
        help="Who takes the parcels.")
    needs_tracking = fields.Boolean("Needs Tracking", readonly=True)
    tracking = fields.Char("Tracking Number",
        states={
            'required': Bool(Eval('needs_tracking')),
            'invisible': ~Eval('needs_tracking'),
            },
        help="Type or scan the number of the carrier's label.")

    @fields.depends('carrier')
    def on_change_with_needs_tracking(self):
        if not self.carrier:
            return True
        return carrier_adapter.get(self.carrier.shipping_adapter
            ).needs_tracking


class Ship(Wizard):
    "Ship Packed Shipment"
    __name__ = 'stock.shipment.out.ship'
    start = StateView('stock.shipment.out.ship.start',
        'inventory_wave.shipment_out_ship_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Ship", 'ship', 'tryton-ok', default=True),
            ])
    ship = StateTransition()

    def default_start(self, fields):
        shipment = self.record
        shipment.check_shippable()
        values = {'shipment': shipment.id, 'needs_tracking': True}
        if shipment.carrier:
            values['carrier'] = shipment.carrier.id
            values['needs_tracking'] = carrier_adapter.get(
                shipment.carrier.shipping_adapter).needs_tracking
        return values

    def transition_ship(self):
        self.model.confirm_shipping(
            [self.record], carrier=self.start.carrier,
            tracking=self.start.tracking)
        return 'end'

