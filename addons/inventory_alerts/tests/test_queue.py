"""Database test of the stock alerts' evaluation queued after moves (B1):
a move that changes a warehouse's stock (on hand, reserved) queues it, a
move inside one warehouse without a reservation (a putaway) does not."""
from decimal import Decimal

from trytond.modules.company.tests import create_company, set_company
from trytond.modules.inventory_flow.tests.tools import SuiteDatabaseMixin
from trytond.pool import Pool
from trytond.tests import test_tryton
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction


class AlertQueueTestCase(SuiteDatabaseMixin, test_tryton._DBTestCase):
    "Test the alert evaluation queued after moves"
    module = 'inventory_alerts'
    extras = []

    @with_transaction()
    def test_queued_when_a_warehouse_stock_changes(self):
        pool = Pool()
        Location = pool.get('stock.location')
        Template = pool.get('product.template')
        Uom = pool.get('product.uom')
        Move = pool.get('stock.move')
        Threshold = pool.get('stock.threshold')
        Queue = pool.get('ir.queue')
        Transaction().set_context(_skip_warnings=True)
        company = create_company()
        with set_company(company):
            warehouse, = Location.search([('type', '=', 'warehouse')])
            supplier, = Location.search([('code', '=', 'SUP')])
            storage = warehouse.storage_location
            shelf, = Location.create([{
                        'name': 'Shelf', 'type': 'storage',
                        'parent': storage.id}])
            # A second warehouse, reached without transit
            other_input, other_output, other_storage = Location.create([{
                        'name': name, 'type': 'storage'}
                    for name in ['In 2', 'Out 2', 'Storage 2']])
            Location.create([{
                        'name': 'Warehouse 2', 'type': 'warehouse',
                        'input_location': other_input.id,
                        'output_location': other_output.id,
                        'storage_location': other_storage.id}])
            unit, = Uom.search([('name', '=', 'Unit')])
            template, = Template.create([{
                        'name': 'Tea', 'type': 'goods',
                        'default_uom': unit.id,
                        'products': [('create', [{
                                        'cost_price': Decimal(1)}])],
                        }])
            product, = template.products
            Threshold.create([{
                        'product': product.id, 'warehouse': warehouse.id,
                        'safety': 5, 'lead_time_days': 7}])

            def queued(from_location, to_location, assign=False):
                """The evaluation tasks queued by one move done (assigned
                first with assign)"""
                before = Queue.search([], count=True)
                values = {
                    'product': product.id, 'unit': unit.id, 'quantity': 2,
                    'from_location': from_location.id,
                    'to_location': to_location.id,
                    }
                if from_location.type == 'supplier':
                    values.update(unit_price=Decimal(1),
                        currency=company.currency.id)
                move, = Move.create([values])
                if assign:
                    Move.assign([move])
                Move.do([move])
                tasks = Queue.search([], order=[('id', 'DESC')],
                    limit=Queue.search([], count=True) - before)
                return [(t.data['method'], list(t.data['instances']))
                    for t in tasks]

            evaluation = [('evaluate_stock_alerts', [product.id])]
            # received: the warehouse's stock grows
            self.assertEqual(queued(supplier, warehouse.input_location),
                evaluation)
            # put away from the input to a shelf of the same warehouse
            self.assertEqual(queued(warehouse.input_location, shelf), [])
            self.assertEqual(queued(shelf, storage), [])
            # assigned first (reserved), then done: the warehouse's
            # reserved stock changes twice
            self.assertEqual(queued(storage, shelf, assign=True),
                evaluation * 2)
            # to another warehouse: both warehouses' stock change
            self.assertEqual(queued(shelf, other_storage), evaluation)


del test_tryton
