"""Module tests of inventory_flow: registration, views, access rights and the
warehouse layout (A5)."""
from trytond.exceptions import UserError
from trytond.modules.company.tests import (
    CompanyTestMixin, create_company, set_company)
from trytond.pool import Pool
from trytond.modules.inventory_flow.tests.tools import (
    SuiteDatabaseMixin, TranslationTestMixin)
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction
from trytond.modules.inventory_flow.location import generate_layout
from trytond.modules.inventory_flow.layout import RackBlock


class InventoryFlowTestCase(
        SuiteDatabaseMixin, TranslationTestMixin, CompanyTestMixin,
        ModuleTestCase):
    "Test Inventory Flow module"
    module = 'inventory_flow'

    def _warehouse(self):
        Location = Pool().get('stock.location')
        warehouse, = Location.search([('type', '=', 'warehouse')])
        return warehouse

    @with_transaction()
    def test_generate_layout_creates_bins(self):
        "The layout wizard creates aisles × positions × levels bins"
        Location = Pool().get('stock.location')
        warehouse = self._warehouse()
        bins = generate_layout(
            warehouse, RackBlock('A', 3, 2, 5, 2), zone='reserve',
            capacity_volume=1.5, capacity_weight=500)
        self.assertEqual(len(bins), 2 * 5 * 2)
        bin_, = Location.search([('code', '=', 'A-03-2-05')])
        self.assertEqual(
            (bin_.aisle, bin_.level, bin_.position, bin_.zone),
            (3, 2, 5, 'reserve'))
        self.assertEqual(bin_.parent.code, 'A-03')
        self.assertEqual(bin_.parent.parent, warehouse.storage_location)
        self.assertEqual(bin_.warehouse, warehouse)
        self.assertEqual(bin_.barcode, 'A-03-2-05')
        # Scanning the barcode finds the bin
        self.assertEqual(
            Location.search([('rec_name', '=', 'A-03-2-05')]), [bin_])

    @with_transaction()
    def test_generate_layout_refuses_overlap(self):
        "An overlapping rack layout is refused and nothing is created"
        Location = Pool().get('stock.location')
        warehouse = self._warehouse()
        generate_layout(warehouse, RackBlock('A', 1, 1, 2, 1))
        before = Location.search_count([])
        with self.assertRaisesRegex(UserError, 'A-01-1-01'):
            generate_layout(warehouse, RackBlock('A', 1, 2, 2, 1))
        self.assertEqual(Location.search_count([]), before)

    @with_transaction()
    def test_generate_layout_refuses_non_positive(self):
        "Non-positive dimensions are refused naming the field"
        Location = Pool().get('stock.location')
        warehouse = self._warehouse()
        before = Location.search_count([])
        with self.assertRaisesRegex(UserError, 'Levels'):
            generate_layout(warehouse, RackBlock('A', 1, 1, 2, 0))
        with self.assertRaisesRegex(UserError, 'Capacity Volume'):
            generate_layout(
                warehouse, RackBlock('A', 1, 1, 2, 1), capacity_volume=-1)
        self.assertEqual(Location.search_count([]), before)

    @with_transaction()
    def test_bin_code_unique(self):
        "Two bins cannot share a code"
        Location = Pool().get('stock.location')
        warehouse = self._warehouse()
        generate_layout(warehouse, RackBlock('A', 1, 1, 1, 1))
        with self.assertRaisesRegex(UserError, 'A-01-1-01'):
            Location.create([{
                        'name': 'dup', 'code': 'A-01-1-01', 'type': 'storage',
                        'zone': 'pick',
                        'parent': warehouse.storage_location.id}])

    @with_transaction()
    def test_product_gtin_search(self):
        "A product is found by its GTIN, also in GTIN-14 form"
        pool = Pool()
        Template = pool.get('product.template')
        Product = pool.get('product.product')
        Uom = pool.get('product.uom')
        unit, = Uom.search([('name', '=', 'Unit')])
        template, = Template.create([{
                    'name': 'Water', 'default_uom': unit.id, 'type': 'goods',
                    'products': [('create', [{
                                    'identifiers': [('create', [{
                                                    'type': 'ean',
                                                    'code': '4006381333931',
                                                    }])],
                                    }])],
                    }])
        product, = template.products
        self.assertEqual(product.gtin, '4006381333931')
        self.assertEqual(
            Product.search([('gtin', '=', '04006381333931')]), [product])
        self.assertEqual(Product.search([('gtin', '=', '4006381333938')]), [])

    @with_transaction()
    def test_stock_by_bin(self):
        "Stock by bin sums the done moves per bin, product and lot"
        pool = Pool()
        Template = pool.get('product.template')
        Uom = pool.get('product.uom')
        Location = pool.get('stock.location')
        Move = pool.get('stock.move')
        StockBin = pool.get('stock.bin.quantity')
        unit, = Uom.search([('name', '=', 'Unit')])
        template, = Template.create([{
                    'name': 'Water', 'default_uom': unit.id, 'type': 'goods',
                    'products': [('create', [{}])]}])
        product, = template.products
        supplier, = Location.search([('code', '=', 'SUP')])
        warehouse = self._warehouse()
        bin1, bin2 = generate_layout(warehouse, RackBlock('A', 1, 1, 2, 1))
        company = create_company()
        with set_company(company):
            moves = Move.create([{
                        'product': product.id, 'unit': unit.id,
                        'quantity': q, 'from_location': f.id,
                        'to_location': t.id, 'company': company.id,
                        **({'unit_price': 1, 'currency': company.currency.id}
                            if f == supplier else {}),
                        } for q, f, t in [
                        (10, supplier, bin1), (4, bin1, bin2),
                        (7, supplier, bin2)]])
            with Transaction().set_context(_skip_warnings=True):
                Move.do(moves)
            Move.create([{
                        'product': product.id, 'unit': unit.id,
                        'quantity': 100, 'from_location': supplier.id,
                        'to_location': bin1.id, 'company': company.id,
                        'unit_price': 1, 'currency': company.currency.id,
                        }])  # draft: not on hand
            rows = StockBin.search([('product', '=', product.id)])
            self.assertEqual(
                {(r.location.code, r.quantity) for r in rows},
                {('A-01-1-01', 6), ('A-01-1-02', 11)})
            self.assertEqual(len({r.id for r in rows}), 2)
            row, = StockBin.search([('location', '=', bin2.id)])
            self.assertEqual(row.quantity, 11)


del ModuleTestCase
