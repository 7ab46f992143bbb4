"""Demo data of the quality gate (A4): an inspection plan for the natural
yogurt and an inspection for the lot the demo parks in quarantine."""
from trytond.pool import Pool
from trytond.transaction import Transaction


def create_demo(company):
    """Create the plan and the pending inspection of each lot waiting in a
    quarantine bin; return the number of inspections."""
    pool = Pool()
    Control = pool.get('quality.control')
    Inspection = pool.get('quality.inspection')
    Move = pool.get('stock.move')
    Uom = pool.get('product.uom')
    ModelData = pool.get('ir.model.data')
    letters = pool.get('quality.sampling.letter').rows()
    plans = pool.get('quality.sampling.plan').tables()
    moves = Move.search([
            ('to_location.zone', '=', 'quarantine'),
            ('state', '=', 'done'),
            ('lot', '!=', None),
            ], order=[('id', 'ASC')])
    if not moves:
        return 0
    gram = Uom(ModelData.get_id('product', 'uom_gram'))
    controls = {}
    inspections = []
    for move in moves:
        product = move.product
        if product not in controls:
            control, = Control.create([{
                        'name': f"Receipt of {product.template.name}",
                        'company': company.id,
                        'product': product.id,
                        'operations': ['stock.shipment.in:quarantine'],
                        'inspection_level': 'II',
                        'aql': '1.0',
                        'points': [('create', [{
                                        'name': 'seal',
                                        'string': "Seal intact",
                                        'type_': 'boolean',
                                        }, {
                                        'name': 'weight',
                                        'string': "Net weight",
                                        'type_': 'float', 'unit': gram.id,
                                        'tolerance_lower': 495,
                                        'tolerance_upper': 515,
                                        }, {
                                        'name': 'remark', 'string': "Remark",
                                        'type_': 'char', 'mandatory': False,
                                        }])],
                        }])
            controls[product] = control
        inspection = Inspection._from_receipt(
            controls[product], _Receipt(move), move, letters, plans)
        inspection.location = move.to_location
        inspections.append(inspection)
    Inspection.save(inspections)
    return len(inspections)


class _Receipt:
    "What an inspection needs of the receipt of a demo move (no shipment)"

    def __init__(self, move):
        self.company = move.company
        suppliers = move.product.template.product_suppliers
        self.supplier = suppliers[0].party if suppliers else None


def quarantine_lot(number, quantity):
    """Park one more lot of the demo's quarantined product in quarantine
    with its pending inspection, as a receipt does (for the tests and the
    browser tests of the partial and concession decisions); return the
    inspection."""
    pool = Pool()
    Inspection = pool.get('quality.inspection')
    Lot = pool.get('stock.lot')
    Move = pool.get('stock.move')
    Location = pool.get('stock.location')
    demo, = Inspection.search([('location', '!=', None)], limit=1)
    supplier, = Location.search([('type', '=', 'supplier')], limit=1)
    lot, = Lot.create([{'number': number, 'product': demo.product.id,
                'shelf_life_expiration_date': (
                    demo.lot.shelf_life_expiration_date)}])
    move, = Move.create([{
                'product': demo.product.id, 'unit': demo.unit.id,
                'quantity': quantity, 'from_location': supplier.id,
                'to_location': demo.location.id, 'company': demo.company.id,
                'unit_price': demo.product.cost_price,
                'currency': demo.company.currency.id, 'lot': lot.id,
                }])
    # In the company's context, as a user of it would: with perpetual
    # valuation on (the demo's books), the receipt posts to accounts that
    # the company rules only show inside it
    User = pool.get('res.user')
    with Transaction().set_context(User.get_preferences(context_only=True),
            company=demo.company.id, _skip_warnings=True):
        Move.do([move])
    letters = pool.get('quality.sampling.letter').rows()
    plans = pool.get('quality.sampling.plan').tables()
    inspection = Inspection._from_receipt(
        demo.control, _Receipt(move), move, letters, plans)
    inspection.location = move.to_location
    inspection.save()
    return inspection
