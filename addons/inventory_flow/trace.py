"""Traceability of a lot from purchase order to customer (D3).

* Tryton's own lot traces (``stock.lot.trace``: upward and downward trees
  of done moves, from the lot form) are the tree in the web client.
* :class:`LotRecall` is the recall list: one row per delivery of the lot to
  a customer (returns count negative), with customer, shipment, order,
  channel reference, date and quantity — one action from the lot form.
* :class:`LotTraceReport` prints the whole story as a PDF: upstream
  (supplier, purchase order, its approval trail, receipt and putaway, who
  and when), the moves between bins, downstream (shipments, customers,
  channel orders) and the recall list.
* Lots, bins, channels and approval rules keep their history
  (``_history``): "who changed this and what was it before" is answered by
  Tryton's revision view.
"""
import datetime as dt

from sql import Null
from sql.conditionals import Case, Coalesce

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.report import Report
from trytond.transaction import Transaction

from . import tracedoc


class Lot(metaclass=PoolMeta):
    __name__ = 'stock.lot'
    _history = True

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'recall_list': {'icon': 'tryton-warning'},
                })

    @classmethod
    @ModelView.button_action('inventory_flow.act_lot_recall')
    def recall_list(cls, lots):
        pass


class Location(metaclass=PoolMeta):
    __name__ = 'stock.location'
    _history = True


class LotTrace(metaclass=PoolMeta):
    """Tryton's trace tree, expanded in SQL.

    Tryton computes a node's children by searching the moves of the lot out
    of (into) its bin after (before) it, instantiating each move to filter
    and sort it: seconds per node for a lot with thousands of moves.  The
    same rule (done moves of the lot, from the node's destination on or
    after its date, ordered by date and id; reversed downward) is one
    indexed query here.  A module that adds other links (e.g. production
    inputs → outputs) must extend these getters."""
    __name__ = 'stock.lot.trace'

    def get_upward_traces(self, name):
        return self._trace_ids(upward=True)

    def get_downward_traces(self, name):
        return self._trace_ids(upward=False)

    def _trace_ids(self, upward):
        Move = Pool().get('stock.move')
        move = Move.__table__()
        where = ((move.lot == self.lot.id) & (move.state == 'done')
            & (move.company == self.company.id))
        if upward:
            where &= ((move.from_location == self.to_location.id)
                & (move.effective_date >= self.date))
            order = [move.effective_date.asc, move.id.asc]
        else:
            where &= ((move.to_location == self.from_location.id)
                & (move.effective_date <= self.date))
            order = [move.effective_date.desc, move.id.desc]
        cursor = Transaction().connection.cursor()
        cursor.execute(*move.select(move.id, where=where, order_by=order))
        return [row[0] for row in cursor]


class LotRecall(ModelSQL, ModelView):
    "Lot Recall Line"
    __name__ = 'stock.lot.recall'

    lot = fields.Many2One('stock.lot', "Lot", readonly=True)
    product = fields.Many2One('product.product', "Product", readonly=True,
        context={
            'company': Eval('company', -1),
            },
        depends=['company'])
    customer = fields.Many2One('party.party', "Customer", readonly=True,
        context={
            'company': Eval('company', -1),
            },
        depends=['company'],
        help="Who received the lot (or returned it: negative quantity).")
    shipment = fields.Reference("Shipment", selection='get_shipments',
        readonly=True)
    sale = fields.Many2One('sale.sale', "Order", readonly=True)
    channel_reference = fields.Char("Channel Reference", readonly=True,
        help="The order number in the sales channel, to reach the buyer "
        "through the shop.")
    date = fields.Date("Date", readonly=True)
    quantity = fields.Float("Quantity", digits='unit', readonly=True,
        help="Delivered to the customer; negative for a return.")
    unit = fields.Many2One('product.uom', "Unit", readonly=True)
    company = fields.Many2One('company.company', "Company", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('customer', 'ASC'), ('date', 'ASC'), ('id', 'ASC')]

    @classmethod
    def get_shipments(cls):
        return Pool().get('stock.move').get_shipment()

    @classmethod
    def table_query(cls):
        """Done moves of lots into or out of customer locations, with the
        shipment's customer (else the order's party) and the order of the
        move's sale line"""
        pool = Pool()
        Move = pool.get('stock.move')
        Location = pool.get('stock.location')
        ShipmentOut = pool.get('stock.shipment.out')
        ShipmentOutReturn = pool.get('stock.shipment.out.return')
        SaleLine = pool.get('sale.line')
        Sale = pool.get('sale.sale')
        move = Move.__table__()
        source = Location.__table__()
        target = Location.__table__()
        shipment = ShipmentOut.__table__()
        returned = ShipmentOutReturn.__table__()
        line = SaleLine.__table__()
        sale = Sale.__table__()
        to_customer = target.type == 'customer'
        shipment_id = Move.shipment.sql_id(move.shipment, Move)
        origin_id = Move.origin.sql_id(move.origin, Move)
        query = (move
            .join(source, condition=move.from_location == source.id)
            .join(target, condition=move.to_location == target.id)
            .join(shipment, type_='LEFT', condition=move.shipment.like(
                    ShipmentOut.__name__ + ',%')
                & (shipment.id == shipment_id))
            .join(returned, type_='LEFT', condition=move.shipment.like(
                    ShipmentOutReturn.__name__ + ',%')
                & (returned.id == shipment_id))
            .join(line, type_='LEFT', condition=move.origin.like(
                    SaleLine.__name__ + ',%')
                & (line.id == origin_id))
            .join(sale, type_='LEFT', condition=line.sale == sale.id)
            .select(
                move.id.as_('id'),
                move.lot.as_('lot'),
                move.product.as_('product'),
                Coalesce(shipment.customer, returned.customer,
                    sale.party).as_('customer'),
                move.shipment.as_('shipment'),
                sale.id.as_('sale'),
                sale.channel_reference.as_('channel_reference'),
                move.effective_date.as_('date'),
                Case((to_customer, move.quantity),
                    else_=-move.quantity).as_('quantity'),
                move.unit.as_('unit'),
                move.company.as_('company'),
                where=(move.lot != Null) & (move.state == 'done')
                & (to_customer | (source.type == 'customer'))))
        return query


def _ids(Model, domain, order):
    """The ids of a search, in order, without instantiating a record per
    row (a browse of n ids costs n² in trytond's id checks)"""
    cursor = Transaction().connection.cursor()
    cursor.execute(*Model.search(domain, order=order, query=True))
    return [row[0] for row in cursor]


class LotTraceReport(Report):
    "The whole story of a lot as a PDF (D3)"
    __name__ = 'stock.lot.trace_report'

    @classmethod
    def execute(cls, ids, data):
        pool = Pool()
        Lot = pool.get('stock.lot')
        ActionReport = pool.get('ir.action.report')
        ids = list(map(int, ids))
        action_id = data.get('action_id') if data else None
        if action_id is None:
            action_report, = ActionReport.search([
                    ('report_name', '=', cls.__name__)], limit=1)
        else:
            action_report = ActionReport(action_id)
        cls.check_access(action_report, 'stock.lot', ids)
        lot, = Lot.browse(ids[:1])
        return 'pdf', tracedoc.render(cls.lot_data(lot)), False, (
            f'trace-{lot.number}')

    @classmethod
    def lot_data(cls, lot):
        pool = Pool()
        Move = pool.get('stock.move')
        Recall = pool.get('stock.lot.recall')
        Trail = pool.get('purchase.approval.trail')
        PurchaseLine = pool.get('purchase.line')

        def label(model, field):
            return pool.get(model).fields_get([field])[field]['string']

        def when(value):
            return value.strftime('%Y-%m-%d %H:%M') if value else ''

        # Set-based reads: one query per related model, not one record
        # instance per move (a lot can have thousands of moves)
        move_ids = _ids(Move, [
                ('lot', '=', lot.id), ('state', '=', 'done')],
            [('effective_date', 'ASC'), ('id', 'ASC')])
        moves = []
        # Slices of 200: read() browses each slice, and a browse checks
        # its whole id list for every instance (quadratic in the slice)
        for index in range(0, len(move_ids), 200):
            moves.extend(Move.read(move_ids[index:index + 200], [
                        'effective_date', 'quantity', 'unit.symbol',
                        'from_location.rec_name', 'from_location.type',
                        'to_location.rec_name', 'to_location.type',
                        'shipment', 'shipment.rec_name', 'origin',
                        'origin.rec_name', 'write_uid.rec_name',
                        'create_uid.rec_name', 'write_date', 'create_date']))
        order = {i: n for n, i in enumerate(move_ids)}
        moves.sort(key=lambda m: order[m['id']])

        def ids_of(references, model):
            prefix = model + ','
            return {int(r.split(',')[1]) for r in references
                if r and r.startswith(prefix)}

        def parties(model, field, references):
            ids = ids_of(references, model)
            if not ids:
                return {}
            return {f'{model},{r["id"]}': (r.get(field + '.') or {}).get(
                    'rec_name', '')
                for r in pool.get(model).read(
                    list(ids), [field + '.rec_name'])}

        shipments = [m['shipment'] for m in moves]
        party_of_shipment = {
            **parties('stock.shipment.in', 'supplier', shipments),
            **parties('stock.shipment.out', 'customer', shipments),
            **parties('stock.shipment.out.return', 'customer', shipments),
            }
        line_ids = ids_of([m['origin'] for m in moves], PurchaseLine.__name__)
        purchase_of_line = {
            f'{PurchaseLine.__name__},{r["id"]}': r
            for r in PurchaseLine.read(list(line_ids), [
                    'purchase', 'purchase.rec_name',
                    'purchase.party.rec_name'])}

        def name(value):
            return (value or {}).get('rec_name', '') if value else ''

        upstream, internal, downstream, purchases = [], [], [], set()
        for move in moves:
            source, target = move['from_location.'], move['to_location.']
            who = move['write_uid.'] or move['create_uid.']
            row = [
                str(move['effective_date'] or ''),
                source['rec_name'], target['rec_name'],
                f"{move['quantity']:g} {move['unit.']['symbol']}",
                name(move['shipment.']) if move['shipment'] else name(
                    move['origin.']),
                name(who),
                when(move['write_date'] or move['create_date'])]
            if source['type'] == 'supplier':
                party = party_of_shipment.get(move['shipment'], '')
                line = purchase_of_line.get(move['origin'])
                purchase = ''
                if line:
                    purchases.add(line['purchase'])
                    purchase = name(line['purchase.'])
                    party = party or (line['purchase.'] or {}).get(
                        'party.', {}).get('rec_name', '')
                upstream.append(row[:4] + [party, purchase] + row[4:])
            elif target['type'] == 'customer' or source['type'] == 'customer':
                downstream.append(row[:4] + [
                        party_of_shipment.get(move['shipment'], '')]
                    + row[4:])
            else:
                internal.append(row)
        approvals = []
        actions = dict(Trail.fields_get(['action'])['action']['selection'])
        if purchases:
            for trail in Trail.search([
                        ('purchase', 'in', list(purchases))],
                    order=[('id', 'ASC')]):
                approvals.append([
                        trail.purchase.rec_name,
                        actions.get(trail.action, trail.action),
                        trail.user.rec_name if trail.user else '',
                        when(trail.date), trail.comment or ''])
        recall_ids = _ids(Recall, [('lot', '=', lot.id)], Recall._order)
        recall_rows = {}
        for index in range(0, len(recall_ids), 200):
            for r in Recall.read(recall_ids[index:index + 200], [
                        'customer.rec_name', 'shipment.rec_name',
                        'sale.rec_name', 'channel_reference', 'date',
                        'quantity', 'unit.symbol']):
                recall_rows[r['id']] = r
        recall = [[
                name(r['customer.']), name(r['shipment.']), name(r['sale.']),
                r['channel_reference'] or '', str(r['date'] or ''),
                f"{r['quantity']:g} {r['unit.']['symbol']}"]
            for r in (recall_rows[i] for i in recall_ids)]
        move_columns = [
            label('stock.move', 'effective_date'),
            label('stock.move', 'from_location'),
            label('stock.move', 'to_location'),
            label('stock.move', 'quantity'),
            gettext('inventory_flow.msg_trace_document'),
            gettext('inventory_flow.msg_trace_by'),
            gettext('inventory_flow.msg_trace_at')]
        empty = gettext('inventory_flow.msg_trace_none')
        return {
            'title': gettext('inventory_flow.msg_trace_title'),
            'lot': lot.number,
            'product': lot.product.rec_name,
            'expiration': (
                f"{label('stock.lot', 'expiration_date')} "
                f"{lot.expiration_date}"
                if getattr(lot, 'expiration_date', None) else None),
            'printed': dt.date.today().isoformat(),
            'sections': [{
                    'title': gettext('inventory_flow.msg_trace_upstream'),
                    'columns': move_columns[:4] + [
                        label('purchase.purchase', 'party'),
                        label('purchase.line', 'purchase')]
                    + move_columns[4:],
                    'rows': upstream, 'empty': empty,
                    }, {
                    'title': gettext('inventory_flow.msg_trace_approvals'),
                    'columns': [
                        label('purchase.approval.trail', 'purchase'),
                        label('purchase.approval.trail', 'action'),
                        label('purchase.approval.trail', 'user'),
                        label('purchase.approval.trail', 'date'),
                        label('purchase.approval.trail', 'comment')],
                    'rows': approvals, 'empty': empty,
                    }, {
                    'title': gettext('inventory_flow.msg_trace_internal'),
                    'columns': move_columns, 'rows': internal,
                    'empty': empty,
                    }, {
                    'title': gettext('inventory_flow.msg_trace_downstream'),
                    'columns': move_columns[:4] + [
                        label('stock.shipment.out', 'customer')]
                    + move_columns[4:],
                    'rows': downstream,
                    'empty': empty,
                    }, {
                    'title': gettext('inventory_flow.msg_trace_recall'),
                    'columns': [
                        label('stock.lot.recall', 'customer'),
                        label('stock.lot.recall', 'shipment'),
                        label('stock.lot.recall', 'sale'),
                        label('stock.lot.recall', 'channel_reference'),
                        label('stock.lot.recall', 'date'),
                        label('stock.lot.recall', 'quantity')],
                    'rows': recall, 'empty': empty,
                    }],
            }
