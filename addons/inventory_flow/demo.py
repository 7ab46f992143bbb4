"""Demo and benchmark data for the inventory suite.

:func:`generate` fills an activated database with a small, realistic company
("Demo Warehouse Co."): one user per role, suppliers, customers, a catalogue
of 40 goods with GTINs, a laid-out warehouse, lots with expiry dates, stock in
bins and a few open purchase and sale orders, one of them with its supplier
shipment announced (``DEMO-DN-1``) for receiving by scan.  With ``scale``
above 1 it also adds a large data set (``scale`` × 1 000 products, × 200
bins, × 10 000 done stock moves) written set-based by :func:`generate_bulk`, for benchmarks.

Both run inside an active transaction and never commit; the caller
(``scripts/demo.py`` or a test) does.  Nothing here is registered in the pool:
it is plain code over the models of the suite and of Tryton.
"""
import datetime as dt
import math
import time
from collections import defaultdict
from decimal import Decimal
from itertools import cycle

from sql import Column, Table, Values
from sql.aggregate import Max

from trytond import backend
from trytond.pool import Pool
from trytond.transaction import Transaction

from .layout import RackBlock, plan_block
from .location import generate_layout

__all__ = [
    'DemoError', 'demo_exists', 'generate', 'generate_bulk', 'gtin13',
    'USERS', 'MARKER_CODE']

#: The product code whose presence means the demo data is already loaded.
MARKER_CODE = 'DEMO-0001'
COMPANY_NAME = "Demo Warehouse Co."

#: login (= password), name, XML id of the role group in inventory_flow
USERS = [
    ('buyer', "Brenda Buyer", 'group_buyer'),
    ('approver', "Arthur Approver", 'group_approver'),
    ('operator', "Olivia Operator", 'group_operator'),
    ('inspector', "Ian Inspector", 'group_qc_inspector'),
    ('manager', "Maria Manager", 'group_manager'),
    ('finance', "Frank Finance", 'group_finance'),
    ('integration', "Integration API", 'group_integration'),
    ('operator_zh', "Li Wei", 'group_operator'),
    ]
#: The users working in another language than English; the scanner and the
#: web client speak it to them (its translations are loaded)
LANGUAGES = {'operator_zh': 'zh_CN'}

SUPPLIERS = [
    # name, street, postal code, city, category index supplied
    ("Northwind Beverages Ltd.", "12 Harbour Road", "3011", "Rotterdam"),
    ("Golden Fields Foods", "88 Mill Lane", "69001", "Lyon"),
    ("Alpine Dairy Cooperative", "3 Meadow Way", "6020", "Innsbruck"),
    ("CleanHome Supplies", "450 Industrial Park", "20095", "Hamburg"),
    ("Bright Care Cosmetics", "7 Rose Street", "1050", "Brussels"),
    ]

CUSTOMERS = [
    ("Corner Market Riverside", "1 River Street", "1012", "Amsterdam"),
    ("Fresh & Easy Downtown", "240 Main Street", "75002", "Paris"),
    ("Hilltop Grocery", "9 Hill Road", "10115", "Berlin"),
    ("Lakeside Mini Mart", "55 Lake Avenue", "8001", "Zurich"),
    ("Greenway Supermarket", "17 Green Boulevard", "1000", "Brussels"),
    ("Old Town Deli", "4 Market Square", "00-001", "Warsaw"),
    ("Sunrise Convenience", "300 East Road", "2100", "Copenhagen"),
    ("Harbor Foods", "2 Quay Street", "4050-001", "Porto"),
    ("Maple Street Store", "61 Maple Street", "1010", "Vienna"),
    ("Campus Shop", "University Campus 5", "3000", "Leuven"),
    ]

CATEGORIES = [
    "Beverages", "Dry Food", "Dairy & Chilled", "Household", "Personal Care"]

#: name, category index, weight (kg), volume (l), cost, list price,
#: shelf life in days (None: not lot-tracked)
PRODUCTS = [
    ("Mineral Water Still 1.5 L", 0, 1.55, 1.6, '0.22', '0.49', None),
    ("Sparkling Water 1 L", 0, 1.05, 1.1, '0.25', '0.55', None),
    ("Orange Juice 1 L", 0, 1.08, 1.1, '0.85', '1.89', 120),
    ("Apple Juice 1 L", 0, 1.07, 1.1, '0.75', '1.69', 150),
    ("Cola Can 330 ml 24-pack", 0, 8.4, 9.5, '6.20', '11.90', None),
    ("Iced Tea Lemon 500 ml", 0, 0.53, 0.55, '0.40', '0.99', None),
    ("Ground Coffee 500 g", 0, 0.52, 0.9, '3.10', '6.49', None),
    ("Green Tea 20 Bags", 0, 0.05, 0.3, '0.90', '2.29', None),
    ("Spaghetti 500 g", 1, 0.51, 0.8, '0.45', '1.09', None),
    ("Basmati Rice 1 kg", 1, 1.02, 1.2, '1.30', '2.79', None),
    ("Wheat Flour 1 kg", 1, 1.01, 1.3, '0.40', '0.89', None),
    ("Tomato Passata 700 g", 1, 0.95, 0.8, '0.60', '1.39', 540),
    ("Chickpeas Can 400 g", 1, 0.45, 0.45, '0.42', '0.95', None),
    ("Rolled Oats 500 g", 1, 0.51, 1.0, '0.55', '1.29', None),
    ("Olive Oil Extra Virgin 750 ml", 1, 1.2, 0.9, '4.20', '7.99', None),
    ("Granulated Sugar 1 kg", 1, 1.01, 1.0, '0.70', '1.49', None),
    ("Whole Milk 1 L", 2, 1.04, 1.05, '0.55', '1.19', 14),
    ("Natural Yogurt 500 g", 2, 0.52, 0.55, '0.60', '1.35', 21),
    ("Butter 250 g", 2, 0.26, 0.25, '1.40', '2.69', 60),
    ("Cheddar Cheese 400 g", 2, 0.41, 0.4, '2.60', '4.99', 90),
    ("Fresh Cream 200 ml", 2, 0.21, 0.22, '0.70', '1.49', 10),
    ("Mozzarella 125 g", 2, 0.13, 0.15, '0.55', '1.19', 25),
    ("Free-Range Eggs 10-pack", 2, 0.65, 1.4, '1.90', '3.49', 28),
    ("Cream Cheese 200 g", 2, 0.21, 0.22, '0.95', '1.89', 45),
    ("Dish Soap 500 ml", 3, 0.55, 0.55, '0.65', '1.49', None),
    ("Laundry Detergent 2 L", 3, 2.15, 2.2, '3.40', '6.99', None),
    ("Paper Towels 4 Rolls", 3, 0.6, 8.0, '1.80', '3.49', None),
    ("Toilet Paper 9 Rolls", 3, 0.95, 12.0, '2.40', '4.59', None),
    ("Trash Bags 30 L x 20", 3, 0.3, 0.5, '0.80', '1.79', None),
    ("All-Purpose Cleaner 750 ml", 3, 0.8, 0.85, '0.90', '2.19', None),
    ("Sponges 5-pack", 3, 0.08, 0.9, '0.50', '1.29', None),
    ("Aluminium Foil 30 m", 3, 0.45, 0.7, '1.10', '2.49', None),
    ("Toothpaste 75 ml", 4, 0.1, 0.12, '0.70', '1.79', None),
    ("Shampoo 250 ml", 4, 0.28, 0.3, '1.20', '2.99', None),
    ("Shower Gel 250 ml", 4, 0.28, 0.3, '0.95', '2.29', None),
    ("Hand Soap 300 ml", 4, 0.33, 0.35, '0.85', '1.99', None),
    ("Deodorant Roll-on 50 ml", 4, 0.08, 0.08, '1.10', '2.79', None),
    ("Sunscreen SPF 50 200 ml", 4, 0.23, 0.25, '4.50', '9.99', 730),
    ("Cotton Pads 80", 4, 0.05, 0.5, '0.45', '1.19', None),
    ("Razor Blades 4-pack", 4, 0.04, 0.06, '3.20', '7.49', None),
    ]

#: The location types where a lot-tracked product must carry its lot.
LOT_REQUIRED = ['customer', 'lost_found', 'storage', 'supplier']

#: Bulk bin blocks use these prefixes, 99 aisles each; the curated demo uses
#: A (pick face and reserve), D (dispatch) and Q (quarantine).
BULK_PREFIXES = 'BCEFGHJKLMNPSTUVWXYZ'
BULK_POSITIONS = 50
BULK_LEVELS = 4


class DemoError(Exception):
    "The demo data cannot be generated, e.g. it is already there"


def gtin13(number):
    """Return the GTIN-13 made of the 12-digit ``number`` and its check digit
    (GS1 General Specifications, 7.9.1: weights 1 and 3 from the left).

    >>> gtin13(590123412345)
    '5901234123457'
    >>> gtin13(400638133393)
    '4006381333931'
    """
    digits = f'{number:012d}'
    if len(digits) != 12:
        raise ValueError(f"{number} has more than 12 digits")
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return digits + str((10 - total % 10) % 10)


def curated_gtin(index):
    "GTIN of the curated product ``index`` (from 1): 590-1234-xxxxx"
    return gtin13(590123400000 + index)


def bulk_gtin(index):
    "GTIN of the bulk product ``index`` (from 1): 590-5xxxxxxxx"
    return gtin13(590500000000 + index)


def demo_exists():
    "Return True if the demo data is already in the database"
    Product = Pool().get('product.product')
    with Transaction().set_context(active_test=False):
        return bool(Product.search([('code', '=', MARKER_CODE)], limit=1))


class _Progress:
    "Adapt the optional ``progress(label, done, total)`` callback"

    def __init__(self, callback):
        self.callback = callback

    def __call__(self, label, done, total):
        if self.callback:
            self.callback(label, done, total)


def generate(scale=1, progress=None):
    """Load the demo data in the current transaction; return a summary.

    ``scale`` 1 (the default) gives the curated demo; a larger ``scale`` adds
    :func:`generate_bulk` with ``scale`` × 1 000 products, × 200 bins and
    × 10 000 done moves.  ``progress(label, done, total)`` is called as the
    work advances.  The summary maps a label to a count, plus ``seconds``.

    Raises :class:`DemoError` if the demo data is already there.
    """
    start = time.monotonic()
    progress = _Progress(progress)
    if demo_exists():
        raise DemoError(
            f"the demo data is already loaded (product {MARKER_CODE} exists)")
    pool = Pool()
    User = pool.get('res.user')
    Move = pool.get('stock.move')
    transaction = Transaction()
    # Reserving the stock of the demo sales locks the move table: ask for
    # the lock now so that a retrying caller restarts before any work
    Move.lock()

    steps = ['company', 'users', 'parties', 'products', 'layout', 'stock',
        'orders']
    summary = {}
    progress('demo', 0, len(steps))
    company = _create_company()
    _use_company(company)
    with transaction.set_context(
            User.get_preferences(context_only=True),
            company=company.id, _skip_warnings=True):
        progress('demo', 1, len(steps))
        warehouse = _warehouse()
        _load_languages(set(LANGUAGES.values()))
        summary['users'] = len(_create_users(company, warehouse))
        progress('demo', 2, len(steps))
        suppliers, customers = _create_parties()
        summary['suppliers'] = len(suppliers)
        summary['customers'] = len(customers)
        progress('demo', 3, len(steps))
        products = _create_products(company, suppliers)
        summary['products'] = len(products)
        summary['fiscal years'] = _create_valuation_demo(company, products)
        progress('demo', 4, len(steps))
        bins = _create_layout(warehouse)
        summary['bins'] = sum(len(b) for b in bins.values())
        progress('demo', 5, len(steps))
        lots, moves = _create_stock(company, products, bins)
        summary['lots'] = len(lots)
        summary['done moves'] = len(moves)
        progress('demo', 6, len(steps))
        purchases, sales = _create_orders(
            company, warehouse, products, suppliers, customers)
        summary['purchases'] = len(purchases)
        summary['approval rules'] = _create_approvals(purchases)
        summary['sales channels'] = _create_api_access(company, warehouse)
        summary['sales'] = len(sales)
        summary['stock alerts'] = _create_alerts_demo(company, warehouse)
        summary['inspections'] = _create_qc_demo(company)
        summary['orders to pack'] = len(_create_pack_demo(company, warehouse))
        summary['count tasks'] = _create_count_demo(company, warehouse)
        summary['pick faces'] = len(_create_moves_demo(company, warehouse))
        summary['match tolerances'] = _create_match_demo(company)
        progress('demo', 7, len(steps))

        if scale > 1:
            bulk = generate_bulk(
                company, warehouse,
                products=round(scale * 1000),
                bins=round(scale * 200),
                moves=round(scale * 10000),
                progress=progress.callback)
            for key, value in bulk.items():
                if key != 'seconds':
                    summary[key] = summary.get(key, 0) + value
    summary['seconds'] = time.monotonic() - start
    return summary


def _create_qc_demo(company):
    "The quality gate's demo (inventory_qc), when that module is activated"
    try:
        from trytond.modules.inventory_qc.demo_qc import create_demo
        Pool().get('quality.inspection')
    except (ImportError, KeyError):
        return 0
    return create_demo(company)


def _create_company():
    pool = Pool()
    Currency = pool.get('currency.currency')
    Rate = pool.get('currency.currency.rate')
    Party = pool.get('party.party')
    Company = pool.get('company.company')

    currencies = Currency.search([('code', '=', 'EUR')], limit=1)
    if currencies:
        currency, = currencies
    else:
        currency, = Currency.create([{
                    'name': "Euro", 'code': 'EUR', 'numeric_code': '978',
                    'symbol': '€', 'rounding': Decimal('0.01'), 'digits': 2,
                    }])
    if not currency.rates:
        Rate.create([{
                    'currency': currency.id, 'rate': Decimal(1),
                    'date': dt.date(2000, 1, 1)}])
    party, = Party.create([{
                'name': COMPANY_NAME,
                'addresses': [('create', [{
                                'street': "1 Logistics Avenue",
                                'postal_code': "1000",
                                'city': "Brussels",
                                }])],
                }])
    company, = Company.create([{'party': party.id, 'currency': currency.id}])
    return company


def _use_company(company):
    "Make ``company`` the company of the administrator and of the user"
    pool = Pool()
    User = pool.get('res.user')
    ModelData = pool.get('ir.model.data')
    admin = User(ModelData.get_id('res', 'user_admin'))
    users = {admin}
    if Transaction().user:
        users.add(User(Transaction().user))
    User.write(list(users), {
            'companies': [('add', [company.id])],
            'company': company.id,
            })


def _warehouse():
    Location = Pool().get('stock.location')
    warehouses = Location.search([('code', '=', 'WH'),
            ('type', '=', 'warehouse')], limit=1)
    if not warehouses:
        warehouses = Location.search([('type', '=', 'warehouse')], limit=1)
    if not warehouses:
        raise DemoError("no warehouse found (is the stock module activated?)")
    return warehouses[0]


#: The modules whose translations the demo loads: the suite's own, which
#: is all the scanner shows.  Loading every activated module's (the
#: *Load translations* button of the language) doubles the time of the demo.
TRANSLATED_MODULES = [
    'inventory_flow', 'inventory_qc', 'inventory_wave', 'inventory_alerts']


def _load_languages(codes):
    """Make the languages translatable and load the translations of the
    suite's modules (Administration › Localization › Languages › *Load
    translations* loads Tryton's own as well)"""
    import os
    from trytond.tools import find_dir
    pool = Pool()
    Lang = pool.get('ir.lang')
    Translation = pool.get('ir.translation')
    Module = pool.get('ir.module')
    languages = Lang.search([
            ('code', 'in', list(codes)), ('translatable', '=', False)])
    if not languages:
        return
    Lang.write(languages, {'translatable': True})
    activated = {m.name for m in Module.search([
                ('name', 'in', TRANSLATED_MODULES),
                ('state', '=', 'activated')])}
    for language in languages:
        for module in TRANSLATED_MODULES:
            if module not in activated:
                continue
            path = os.path.join(
                find_dir(module), 'locale', f'{language.code}.po')
            if os.path.isfile(path):
                Translation.translation_import(
                    language.code, module, [path])


def _create_users(company, warehouse):
    pool = Pool()
    User = pool.get('res.user')
    Party = pool.get('party.party')
    Employee = pool.get('company.employee')
    ModelData = pool.get('ir.model.data')
    Lang = pool.get('ir.lang')
    languages = {l.code: l.id for l in Lang.search([
                ('code', 'in', list(set(LANGUAGES.values())))])}

    parties = Party.create([{'name': name} for _, name, _ in USERS])
    employees = Employee.create([{
                'party': party.id, 'company': company.id,
                } for party in parties])
    # The password equals the login, which the password validation forbids:
    # store the hash directly (demo databases only).
    users = User.create([{
                'login': login,
                'name': name,
                'password_hash': User.hash_password(login),
                'groups': [('add', [
                            ModelData.get_id('inventory_flow', group)])],
                'companies': [('add', [company.id])],
                'company': company.id,
                'employees': [('add', [employee.id])],
                'employee': employee.id,
                'warehouse': warehouse.id,
                'language': languages.get(LANGUAGES.get(login)),
                } for (login, name, group), employee in zip(USERS, employees)])
    return users


def _create_parties():
    Party = Pool().get('party.party')

    def values(rows, prefix):
        return [{
                'name': name,
                'code': f'{prefix}{i:03d}',
                'addresses': [('create', [{
                                'street': street,
                                'postal_code': postal_code,
                                'city': city,
                                }])],
                } for i, (name, street, postal_code, city)
            in enumerate(rows, 1)]
    suppliers = Party.create(values(SUPPLIERS, 'SUP-'))
    customers = Party.create(values(CUSTOMERS, 'CUS-'))
    return suppliers, customers


def _abc_class(index):
    "A for a fifth of the catalogue, B for the next 30 %, C for the rest"
    return 'A' if index % 5 == 0 else ('B' if index % 5 in {1, 2} else 'C')


def _create_products(company, suppliers):
    pool = Pool()
    Category = pool.get('product.category')
    Template = pool.get('product.template')
    Uom = pool.get('product.uom')
    ModelData = pool.get('ir.model.data')

    unit = Uom(ModelData.get_id('product', 'uom_unit'))
    kilogram = Uom(ModelData.get_id('product', 'uom_kilogram'))
    liter = Uom(ModelData.get_id('product', 'uom_liter'))
    categories = Category.create([{'name': n} for n in CATEGORIES])
    # Sale and purchase lines keyed in (or sent through the order API) ask
    # the product's accounting category for taxes: one without taxes
    accounting, = Category.create([{
                'name': "Demo goods (no tax)", 'accounting': True}])

    to_create = []
    for index, (name, category, weight, volume, cost, price, shelf_life) in (
            enumerate(PRODUCTS)):
        values = {
            'name': name,
            'type': 'goods',
            'default_uom': unit.id,
            'purchasable': True,
            'purchase_uom': unit.id,
            'salable': True,
            'sale_uom': unit.id,
            'list_price': Decimal(price),
            'categories': [('add', [categories[category].id])],
            'account_category': accounting.id,
            'weight': weight,
            'weight_uom': kilogram.id,
            'volume': volume,
            'volume_uom': liter.id,
            'products': [('create', [{
                            'suffix_code': f'DEMO-{index + 1:04d}',
                            'cost_price': Decimal(cost),
                            'abc_class': _abc_class(index),
                            'identifiers': [('create', [{
                                            'type': 'ean',
                                            'code': curated_gtin(index + 1),
                                            }])],
                            }])],
            'product_suppliers': [('create', [{
                            'party': suppliers[category].id,
                            'company': company.id,
                            'currency': company.currency.id,
                            'code': f'S{category + 1}-{index + 1:05d}',
                            'lead_time': dt.timedelta(days=2 + category),
                            'prices': [('create', [{
                                            'quantity': 0,
                                            'unit_price': Decimal(cost),
                                            }, {
                                            'quantity': 100,
                                            'unit_price': (Decimal(cost)
                                                * Decimal('0.95')).quantize(
                                                Decimal('0.0001')),
                                            }])],
                            }])],
            }
        if shelf_life:
            values.update({
                    'lot_required': LOT_REQUIRED,
                    'shelf_life_state': 'required',
                    'shelf_life_time': shelf_life,
                    })
        to_create.append(values)
    templates = Template.create(to_create)
    return [t.products[0] for t in templates]


def _create_layout(warehouse):
    "Return the bins by zone"
    pick = generate_layout(
        warehouse, RackBlock('A', 1, 6, 10, 3), zone='pick',
        capacity_volume=0.5, capacity_weight=250)
    reserve = generate_layout(
        warehouse, RackBlock('A', 7, 4, 8, 4), zone='reserve',
        capacity_volume=2.0, capacity_weight=1000)
    quarantine = generate_layout(
        warehouse, RackBlock('Q', 1, 1, 1, 1), zone='quarantine',
        capacity_volume=4.0, capacity_weight=2000)
    dispatch = generate_layout(
        warehouse, RackBlock('D', 1, 1, 1, 1), zone='dispatch',
        capacity_volume=8.0, capacity_weight=4000)
    return {
        'pick': pick, 'reserve': reserve,
        'quarantine': quarantine, 'dispatch': dispatch}


def _create_stock(company, products, bins):
    """Receive every product into a pick-face bin (and the A and B classes
    also into reserve), lot by lot for the lot-tracked ones, ship and
    replenish a little, and park one lot in quarantine; all as done moves."""
    pool = Pool()
    Date = pool.get('ir.date')
    Location = pool.get('stock.location')
    Lot = pool.get('stock.lot')
    Move = pool.get('stock.move')
    ModelData = pool.get('ir.model.data')

    today = Date.today()
    supplier = Location(ModelData.get_id('stock', 'location_supplier'))
    customer = Location(ModelData.get_id('stock', 'location_customer'))
    currency = company.currency.id

    # The fast movers get the bins nearest the front cross-aisle and the floor
    by_class = sorted(range(len(products)),
        key=lambda i: (products[i].abc_class, i))
    pick_bins = sorted(bins['pick'],
        key=lambda b: (b.position, b.level, b.aisle))
    reserve_bins = sorted(bins['reserve'],
        key=lambda b: (b.position, b.level, b.aisle))
    pick_of = {i: pick_bins[k] for k, i in enumerate(by_class)}
    reserve_of = {i: reserve_bins[k] for k, i in enumerate(by_class)}

    lot_values, lot_keys = [], []
    near_expiry = 0
    for i, product in enumerate(products):
        shelf_life = PRODUCTS[i][6]
        if not shelf_life:
            continue
        received = today - dt.timedelta(days=3 + i % 9)
        good = max(received + dt.timedelta(days=shelf_life), today
            + dt.timedelta(days=7))
        lot_keys.append((i, 'pick'))
        lot_values.append({
                'number': f'L{received:%y%m%d}-{i + 1:02d}A',
                'product': product.id,
                'shelf_life_expiration_date': good})
        if product.name.startswith("Fresh Cream"):
            # One lot already past its date, still on the shelf
            old = today - dt.timedelta(days=shelf_life + 3)
            lot_keys.append((i, 'expired'))
            lot_values.append({
                    'number': f'L{old:%y%m%d}-{i + 1:02d}X',
                    'product': product.id,
                    'shelf_life_expiration_date': (
                        old + dt.timedelta(days=shelf_life))})
        else:
            # A second, older lot in reserve; a few of them near expiry
            soon = near_expiry < 4 and shelf_life <= 90
            near_expiry += soon
            expiry = (today + dt.timedelta(days=3 + 2 * near_expiry) if soon
                else good + dt.timedelta(days=-min(5, shelf_life // 3)))
            lot_keys.append((i, 'reserve'))
            lot_values.append({
                    'number': f'L{received:%y%m%d}-{i + 1:02d}B',
                    'product': product.id,
                    'shelf_life_expiration_date': expiry})
    lots = Lot.create(lot_values)
    lot_of = dict(zip(lot_keys, lots))

    def receipt(i, to, quantity, days, lot=None):
        product = products[i]
        effective = today - dt.timedelta(days=days)
        if lot and lot.shelf_life_expiration_date:
            # Received while the lot was still valid
            effective = min(effective,
                lot.shelf_life_expiration_date - dt.timedelta(days=1))
        return {
            'product': product.id, 'unit': product.default_uom.id,
            'quantity': quantity, 'from_location': supplier.id,
            'to_location': to.id, 'company': company.id,
            'unit_price': product.cost_price, 'currency': currency,
            'planned_date': effective, 'effective_date': effective,
            'lot': lot.id if lot else None,
            }

    to_do = []
    for i, product in enumerate(products):
        abc = product.abc_class
        pick_quantity = {'A': 120, 'B': 60, 'C': 24}[abc] + 6 * (i % 4)
        reserve_quantity = {'A': 480, 'B': 240, 'C': 0}[abc]
        if PRODUCTS[i][6]:
            to_do.append(receipt(i, pick_of[i], pick_quantity, 3 + i % 9,
                    lot_of[i, 'pick']))
            if (i, 'expired') in lot_of:
                to_do.append(receipt(i, pick_of[i], 6, 30,
                        lot_of[i, 'expired']))
            else:
                to_do.append(receipt(i, reserve_of[i],
                        max(reserve_quantity, 48), 12 + i % 9,
                        lot_of[i, 'reserve']))
        else:
            to_do.append(receipt(i, pick_of[i], pick_quantity, 20 + i % 9))
            if reserve_quantity:
                to_do.append(receipt(i, reserve_of[i], reserve_quantity,
                        35 + i % 9))
    # A little history: shipments out of the pick face and replenishments
    # from reserve for the fast movers without lots
    movers = [i for i in by_class
        if products[i].abc_class == 'A' and not PRODUCTS[i][6]]
    for k, i in enumerate(movers):
        product = products[i]
        shipped = today - dt.timedelta(days=10 - k % 5)
        to_do.append({
                'product': product.id, 'unit': product.default_uom.id,
                'quantity': 12, 'from_location': pick_of[i].id,
                'to_location': customer.id, 'company': company.id,
                'unit_price': product.list_price_used, 'currency': currency,
                'planned_date': shipped, 'effective_date': shipped,
                })
        to_do.append({
                'product': product.id, 'unit': product.default_uom.id,
                'quantity': 24, 'from_location': reserve_of[i].id,
                'to_location': pick_of[i].id, 'company': company.id,
                'planned_date': shipped, 'effective_date': shipped,
                })
    # A lot received yesterday waits for its inspection in quarantine
    yogurt = next(i for i, p in enumerate(PRODUCTS)
        if p[0].startswith("Natural Yogurt"))
    quarantine_lot, = Lot.create([{
                'number': f'L{today:%y%m%d}-{yogurt + 1:02d}Q',
                'product': products[yogurt].id,
                'shelf_life_expiration_date': (
                    today + dt.timedelta(days=PRODUCTS[yogurt][6] - 1)),
                }])
    lots.append(quarantine_lot)
    to_do.append(receipt(yogurt, bins['quarantine'][0], 36, 1,
            quarantine_lot))

    moves = Move.create(to_do)
    Move.do(moves)
    return lots, moves


def _create_orders(company, warehouse, products, suppliers, customers):
    """Open purchase orders (confirmed ones waiting for receipt, a quotation
    and drafts) and sale orders (confirmed ones with their shipments, a
    quotation and drafts)."""
    pool = Pool()
    Date = pool.get('ir.date')
    Purchase = pool.get('purchase.purchase')
    Sale = pool.get('sale.sale')
    ShipmentOut = pool.get('stock.shipment.out')

    today = Date.today()
    by_category = {}
    for i, product in enumerate(products):
        by_category.setdefault(PRODUCTS[i][1], []).append(product)
    loose = [p for i, p in enumerate(products) if not PRODUCTS[i][6]]

    purchases_values = []
    for k, supplier in enumerate(suppliers):
        lines = by_category[k][:3 + k % 3]
        purchases_values.append({
                'company': company.id,
                'party': supplier.id,
                'invoice_address': supplier.addresses[0].id,
                'currency': company.currency.id,
                'warehouse': warehouse.id,
                'invoice_method': 'manual',
                'purchase_date': today - dt.timedelta(days=k),
                'delivery_date': today + dt.timedelta(days=2 + k),
                'reference': f'DEMO-PO-{k + 1}',
                'lines': [('create', [{
                                'type': 'line',
                                'product': p.id,
                                'unit': p.purchase_uom.id,
                                'quantity': 48 * (1 + j % 3),
                                'unit_price': p.cost_price,
                                } for j, p in enumerate(lines)])],
                })
    purchases = Purchase.create(purchases_values)
    # The site receives by scan: the receipt of a processed purchase is
    # prepared at once (A3), the scanner opens it
    Configuration = pool.get('purchase.configuration')
    config = Configuration(1)
    config.prepare_supplier_shipments = True
    config.save()
    # Two received soon, one quotation, two drafts
    Purchase.quote(purchases[:3])
    Purchase.confirm(purchases[:2])
    Purchase.process(purchases[:2])
    # The first one is announced: its supplier shipment waits at the dock
    # (receive it by scanning DEMO-DN-1, the PO number or any of its GTINs,
    # one of them the lot-tracked orange juice); the second one's receipt
    # is prepared under the order's reference (scan DEMO-PO-2)
    _expected_shipment(purchases[0], 'DEMO-DN-1', today)

    def sale_of(customer, reference, lines):
        "The values of a demo sale of lines [(product, quantity)]"
        address = customer.addresses[0]
        return {
            'company': company.id,
            'party': customer.id,
            'invoice_address': address.id,
            'shipment_address': address.id,
            'currency': company.currency.id,
            'warehouse': warehouse.id,
            'invoice_method': 'manual',
            'shipment_method': 'order',
            'sale_date': today,
            'reference': reference,
            'lines': [('create', [{
                            'type': 'line',
                            'product': p.id,
                            'unit': p.sale_uom.id,
                            'quantity': quantity,
                            'unit_price': p.list_price_used,
                            } for p, quantity in lines])],
            }

    sales_values = []
    loose_cycle = cycle(loose)
    for k, customer in enumerate(customers[:6]):
        products = [next(loose_cycle) for _ in range(2 + k % 3)]
        sales_values.append(sale_of(customer, f'DEMO-SO-{k + 1}', [
                    (p, 2 + (k + j) % 5) for j, p in enumerate(products)]))
    # Ten small web orders (one or two lines over the pick face), reserved,
    # so that a wave of the demo has orders to batch (C3)
    for k in range(10):
        customer = customers[(6 + k) % len(customers)]
        products = [loose[(7 * k + 3 * j) % len(loose)]
            for j in range(1 + k % 2)]
        sales_values.append(sale_of(customer, f'DEMO-WEB-{k + 1}', [
                    (p, 1 + (k + j) % 3) for j, p in enumerate(products)]))
    sales = Sale.create(sales_values)
    web = sales[6:]
    # Three to ship (one of them already reserved), one quotation, two
    # drafts, and the web orders reserved
    Sale.quote(sales[:4] + web)
    Sale.confirm(sales[:3] + web)
    Sale.process(sales[:3] + web)
    shipments = [s for sale in sales[:1] + web for s in sale.shipments]
    if shipments:
        ShipmentOut.assign_try(shipments)
    return purchases, sales


#: The order API key of the demo `integration` user (demo databases only)
DEMO_API_KEY = 'demo-inventory-api-key'


def _create_api_access(company, warehouse):
    """A sales channel WEB and a validated order-API key for the demo
    `integration` user, so that the API can be tried with curl (C1)."""
    pool = Pool()
    Channel = pool.get('inventory.channel')
    Application = pool.get('res.user.application')
    User = pool.get('res.user')
    integration, = User.search([('login', '=', 'integration')])
    manager, = User.search([('login', '=', 'manager')])
    Channel.create([{
                'code': 'WEB', 'name': "Web Shop (demo)",
                'company': company.id, 'warehouse': warehouse.id,
                'reservation_policy': 'backorder', 'owner': manager.id,
                }])
    Application.create([{
                'user': integration.id, 'application': 'inventory',
                'key': DEMO_API_KEY, 'state': 'validated',
                }])
    _create_countries()
    _create_carrier()
    return 1


def _create_carrier():
    "SF Express, the carrier the API example names"
    pool = Pool()
    Party = pool.get('party.party')
    Template = pool.get('product.template')
    Uom = pool.get('product.uom')
    Carrier = pool.get('carrier')
    ModelData = pool.get('ir.model.data')
    unit = Uom(ModelData.get_id('product', 'uom_unit'))
    party, = Party.create([{'name': "SF Express"}])
    service, = Template.create([{
                'name': "Parcel delivery", 'type': 'service',
                'default_uom': unit.id, 'sale_uom': unit.id, 'salable': True,
                'list_price': Decimal('6.50'),
                'products': [('create', [{'suffix_code': 'SHIP-PARCEL'}])],
                }])
    Carrier.create([{
                'party': party.id, 'carrier_product': service.products[0].id}])


#: A few countries for the customers' addresses the order API receives
#: (a production database loads them all with trytond_import_countries).
DEMO_COUNTRIES = [
    ('CN', 'CHN', '156', "China"), ('DE', 'DEU', '276', "Germany"),
    ('FR', 'FRA', '250', "France"), ('GB', 'GBR', '826', "United Kingdom"),
    ('JP', 'JPN', '392', "Japan"), ('NL', 'NLD', '528', "Netherlands"),
    ('US', 'USA', '840', "United States"),
    ]


def _create_countries():
    Country = Pool().get('country.country')
    known = {c.code for c in Country.search([])}
    Country.create([{
                'code': code, 'code3': code3, 'code_numeric': numeric,
                'name': name}
            for code, code3, numeric, name in DEMO_COUNTRIES
            if code not in known])


def _create_approvals(purchases):
    """Approval rules (A2) and one purchase waiting for the demo approver:
    every purchase from 500 needs the approver, from 5 000 the manager too.
    The rules are created after the demo orders, which are thus not
    concerned; one draft purchase is then submitted."""
    pool = Pool()
    Rule = pool.get('purchase.approval.rule')
    User = pool.get('res.user')
    Purchase = pool.get('purchase.purchase')
    approver, = User.search([('login', '=', 'approver')])
    manager, = User.search([('login', '=', 'manager')])
    company = Transaction().context.get('company')
    Rule.create([{
                'name': "Standard purchases",
                'company': company,
                'priority': 10,
                'amount_min': Decimal(500),
                'steps': [('create', [{
                                'name': "Purchasing lead", 'mode': 'any',
                                'users': [('add', [approver.id])],
                                'remind_after': 8,
                                'escalate_after': 24,
                                'fallback': manager.id,
                                }])],
                }, {
                'name': "Large purchases",
                'company': company,
                'priority': 20,
                'amount_min': Decimal(5000),
                'steps': [('create', [{
                                'name': "Warehouse manager", 'mode': 'any',
                                'users': [('add', [manager.id])],
                                }])],
                }])
    drafts = [p for p in purchases if p.state == 'draft']
    if drafts:
        Purchase.quote(drafts[:1])
    return 2


def _expected_shipment(purchase, reference, today):
    """Give the draft supplier shipment of ``purchase`` the supplier's
    delivery note number and date, as the office does when the supplier
    announces it: the receipt prepared when the purchase was processed,
    or one made of its pending moves"""
    from .scanner import _draft_shipment_of
    pool = Pool()
    Shipment = pool.get('stock.shipment.in')
    Move = pool.get('stock.move')
    shipment = _draft_shipment_of(purchase)
    if shipment:
        shipment.reference = reference
        shipment.planned_date = today
        shipment.save()
        return shipment
    shipment = Shipment(
        company=purchase.company, supplier=purchase.party,
        warehouse=purchase.warehouse, reference=reference,
        planned_date=today)
    shipment.on_change_warehouse()
    shipment.save()
    moves = [m for m in purchase.moves
        if m.state == 'draft' and not m.shipment]
    Move.write(moves, {'shipment': str(shipment)})
    return shipment


# --- bulk data, set-based -------------------------------------------------

def _allocate_ids(table_name, count):
    """Reserve ``count`` consecutive-or-not ids of ``table_name``; they are
    used as explicit ids so that the rows can reference each other without
    reading them back."""
    transaction = Transaction()
    database = transaction.database
    connection = transaction.connection
    if not count:
        return []
    ids = database.nextid(connection, table_name, count)
    if ids is not None:
        return [ids] if count == 1 else list(ids)
    # SQLite: AUTOINCREMENT tables take explicit ids and move their sequence
    cursor = connection.cursor()
    table = Table(table_name)
    cursor.execute(*table.select(Max(table.id)))
    last = cursor.fetchone()[0] or 0
    sequence = Table('sqlite_sequence')
    cursor.execute(*sequence.select(sequence.seq,
            where=sequence.name == table_name))
    row = cursor.fetchone()
    if row and row[0]:
        last = max(last, row[0])
    return list(range(last + 1, last + 1 + count))


def _insert(table, columns, rows, batch=500, progress=None, label=None,
        done=0, total=None):
    """Insert ``rows`` (tuples) into ``table`` in multi-row INSERTs, or with
    COPY on PostgreSQL (its client-side parameter binding makes large
    INSERTs about ten times slower)"""
    cursor = Transaction().connection.cursor()
    if backend.name == 'postgresql' and hasattr(cursor, 'copy'):
        return _copy(cursor, table, columns, rows, progress=progress,
            label=label, done=done, total=total)
    columns = [getattr(table, c) for c in columns]
    buffer = []
    count = 0
    for row in rows:
        buffer.append(list(row))
        if len(buffer) >= batch:
            cursor.execute(*table.insert(columns, buffer))
            count += len(buffer)
            buffer = []
            if progress:
                progress(label, done + count, total)
    if buffer:
        cursor.execute(*table.insert(columns, buffer))
        count += len(buffer)
        if progress:
            progress(label, done + count, total)
    return count


def _copy(cursor, table, columns, rows, progress=None, label=None, done=0,
        total=None):
    "Insert ``rows`` into ``table`` with PostgreSQL's COPY FROM STDIN"
    from psycopg import sql
    statement = sql.SQL('COPY {} ({}) FROM STDIN').format(
        sql.Identifier(table._name),
        sql.SQL(', ').join(map(sql.Identifier, columns)))
    count = 0
    with cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
            if progress and not count % 10000:
                progress(label, done + count, total)
    if progress:
        progress(label, done + count, total)
    return count


def _bulk_blocks(bins):
    "Plan the RackBlocks of about ``bins`` bulk bins"
    if bins < BULK_POSITIONS * BULK_LEVELS:
        levels = min(BULK_LEVELS, bins)
        return [RackBlock(
                BULK_PREFIXES[0], 1, 1, math.ceil(bins / levels), levels)]
    aisles = max(1, round(bins / (BULK_POSITIONS * BULK_LEVELS)))
    blocks = []
    for k in range(math.ceil(aisles / 99)):
        if k >= len(BULK_PREFIXES):
            raise DemoError(f"too many bins for the bulk layout: {bins}")
        blocks.append(RackBlock(
                BULK_PREFIXES[k], 1, min(99, aisles - 99 * k),
                BULK_POSITIONS, BULK_LEVELS))
    return blocks


def _insert_bins(warehouse, blocks, zone, capacity_volume=None,
        capacity_weight=None, progress=None):
    """Write the aisles and bins of ``blocks`` under the storage location of
    ``warehouse`` as :func:`generate_layout` would, but set-based; return
    the ids of the bins."""
    pool = Pool()
    Location = pool.get('stock.location')
    transaction = Transaction()
    progress = _Progress(progress)
    if not blocks:
        return []
    plans = [plan_block(block) for block in blocks]
    aisles = [(number, code) for plan in plans for number, code, _ in plan]
    existing = Location.search([
            ('code', 'in', [code for _, code in aisles])], limit=1)
    if existing:
        raise DemoError(
            f"the bulk layout overlaps location {existing[0].code}")
    storage = warehouse.storage_location.id
    uid = transaction.user
    now = dt.datetime.now()
    table = Location.__table__()
    columns = ['id', 'name', 'code', 'type', 'parent', 'active',
        'flat_childs', 'allow_pickup', 'blocked', 'left', 'right',
        'create_uid', 'create_date']
    aisle_ids = _allocate_ids(Location._table, len(aisles))
    _insert(table, columns, (
            (id_, f"Aisle {code}", code, 'view', storage, True, False,
                False, False, 0, 0, uid, now)
            for id_, (_, code) in zip(aisle_ids, aisles)))
    aisle_of = {code: id_ for id_, (_, code) in zip(aisle_ids, aisles)}
    rows = [(aisle_of[code], number, bin_code, level, position)
        for plan in plans for number, code, bins in plan
        for bin_code, level, position in bins]
    bin_ids = _allocate_ids(Location._table, len(rows))
    _insert(table, columns + ['barcode', 'zone', 'aisle', 'position',
            'level', 'capacity_volume', 'capacity_weight'], (
            (id_, bin_code, bin_code, 'storage', parent, True, False, False,
                False, 0, 0, uid, now, bin_code, zone, number, position,
                level, capacity_volume, capacity_weight)
            for id_, (parent, number, bin_code, level, position)
            in zip(bin_ids, rows)),
        progress=progress, label='bins', total=len(rows))
    _rebuild_tree(Location, 'parent')
    # Written around Location.create: their load rows (all room free until
    # the stock is rebuilt)
    pool.get('stock.location.load').refresh(bin_ids)
    _forget_cached_records()
    return bin_ids


def _rebuild_tree(Model, field_name, batch=1000):
    """Renumber the nested set (left, right) of ``Model`` along
    ``field_name`` as ``ModelSQL._rebuild_tree`` does, but with one read and
    batched writes of the changed rows instead of two queries per node (a
    minute for 20 000 bins on PostgreSQL)."""
    field = Model._fields[field_name]
    table = Model.__table__()
    cursor = Transaction().connection.cursor()
    left_column = Column(table, field.left)
    right_column = Column(table, field.right)
    cursor.execute(*table.select(table.id, Column(table, field_name),
            left_column, right_column, order_by=table.id))
    children = defaultdict(list)
    current = {}
    for id_, parent, left, right in cursor:
        children[parent].append(id_)
        current[id_] = (left, right)

    numbers = {}

    def number(node, left):
        right = left + 1
        for child in children.get(node, ()):
            right = number(child, right)
        if node is not None:
            numbers[node] = (left, right)
        return right + 1
    number(None, 0)

    changed = [(id_, left, right) for id_, (left, right) in numbers.items()
        if current[id_] != (left, right)]
    for start in range(0, len(changed), batch):
        values = Values(changed[start:start + batch])
        cursor.execute(*table.update(
                [left_column, right_column],
                [values.column2, values.column3],
                from_=[values],
                where=table.id == values.column1))


def _forget_cached_records():
    "Drop the records read before the direct SQL writes"
    transaction = Transaction()
    transaction.counter += 1
    for cache in transaction.cache.values():
        cache.clear()


def generate_bulk(company, warehouse, products, bins, moves, progress=None):
    """Add a large data set to ``warehouse`` of ``company``, set-based.

    ``products`` goods (code BULK-nnnnnnn, a GTIN each, a tenth of them
    lot-tracked with one lot each), about ``bins`` bins in rack blocks B-,
    C-, … (the codes of :func:`generate_layout`), and ``moves`` done
    stock moves over the last year: rounds over the catalogue, each round
    receiving from the supplier into the product's home bin, shipping to
    customers or moving to a second bin, so that no bin goes negative.

    Locations, products, templates, identifiers, prices, lots and moves are
    written with multi-row ``INSERT`` statements on the tables directly
    (Tryton's validation is skipped, so the values mirror what the ORM
    writes) and the location tree is rebuilt once.
    Returns a summary as :func:`generate` does.
    """
    start = time.monotonic()
    progress = _Progress(progress)
    pool = Pool()
    transaction = Transaction()
    database = transaction.database
    cursor = transaction.connection.cursor()
    Date = pool.get('ir.date')
    Location = pool.get('stock.location')
    Template = pool.get('product.template')
    Product = pool.get('product.product')
    Identifier = pool.get('product.identifier')
    ListPrice = pool.get('product.list_price')
    CostPrice = pool.get('product.cost_price')
    TemplateCategory = pool.get('product.template-product.category')
    Category = pool.get('product.category')
    Lot = pool.get('stock.lot')
    Move = pool.get('stock.move')
    ModelData = pool.get('ir.model.data')

    today = Date.today()
    now = dt.datetime.now()
    uid = transaction.user
    unit = ModelData.get_id('product', 'uom_unit')
    kilogram = ModelData.get_id('product', 'uom_kilogram')
    liter = ModelData.get_id('product', 'uom_liter')
    supplier = ModelData.get_id('stock', 'location_supplier')
    customer = ModelData.get_id('stock', 'location_customer')
    currency = company.currency.id
    summary = {}

    # Bins: the ORM layout generator validates every record against every
    # other (quadratic: 2 000 bins take about a minute), so the bulk blocks
    # are written with INSERTs and the location tree is rebuilt once
    blocks = _bulk_blocks(bins) if bins else []
    if moves and not products:
        raise DemoError("bulk moves need bulk products")
    bin_ids = _insert_bins(warehouse, blocks, zone='reserve',
        capacity_volume=2.0, capacity_weight=1000, progress=progress)
    summary['bins'] = len(bin_ids)
    if not bin_ids:
        bin_ids = [l.id for l in Location.search([('zone', '!=', None)])]
    if moves and not bin_ids:
        raise DemoError("bulk moves need bins")

    # Products
    category_ids = [c.id for c in Category.create([
                {'name': f"Bulk Range {k + 1}"} for k in range(10)])] \
        if products else []
    template_ids = _allocate_ids(Template._table, products)
    product_ids = _allocate_ids(Product._table, products)
    lot_tracked = {k for k in range(products) if k % 10 == 0}
    lot_required = Template.lot_required.sql_format(LOT_REQUIRED)
    total = products * 5
    done = 0

    def weight(k):
        return round(0.1 + (k % 50) * 0.2, 3)

    def volume(k):
        return round(0.2 + (k % 40) * 0.25, 3)

    def cost(k):
        return Decimal(50 + (k * 37) % 4950) / 100

    template = Template.__table__()
    done += _insert(template, [
            'id', 'name', 'type', 'default_uom', 'purchasable',
            'purchase_uom', 'salable', 'sale_uom', 'consumable', 'active',
            'weight', 'weight_uom', 'volume', 'volume_uom', 'lot_required',
            'shelf_life_state', 'shelf_life_time', 'expiration_state',
            'create_uid', 'create_date'], (
            (template_ids[k], f"Bulk Item {k + 1:07d}", 'goods', unit, True,
                unit, True, unit, False, True,
                weight(k), kilogram, volume(k), liter,
                lot_required if k in lot_tracked else None,
                'required' if k in lot_tracked else 'none',
                180 if k in lot_tracked else None, 'none', uid, now)
            for k in range(products)),
        progress=progress, label='products', done=done, total=total)
    product = Product.__table__()
    done += _insert(product, [
            'id', 'template', 'suffix_code', 'code', 'active', 'abc_class',
            'create_uid', 'create_date'], (
            (product_ids[k], template_ids[k], f'BULK-{k + 1:07d}',
                f'BULK-{k + 1:07d}', True, _abc_class(k), uid, now)
            for k in range(products)),
        progress=progress, label='products', done=done, total=total)
    identifier = Identifier.__table__()
    done += _insert(identifier, [
            'product', 'type', 'code', 'create_uid', 'create_date'], (
            (product_ids[k], 'ean', bulk_gtin(k + 1), uid, now)
            for k in range(products)),
        progress=progress, label='products', done=done, total=total)
    list_price = ListPrice.__table__()
    done += _insert(list_price, [
            'template', 'company', 'list_price', 'create_uid',
            'create_date'], (
            (template_ids[k], company.id,
                (cost(k) * Decimal('1.8')).quantize(Decimal('0.01')),
                uid, now)
            for k in range(products)),
        progress=progress, label='products', done=done, total=total)
    cost_price = CostPrice.__table__()
    done += _insert(cost_price, [
            'product', 'company', 'cost_price', 'create_uid',
            'create_date'], (
            (product_ids[k], company.id, cost(k), uid, now)
            for k in range(products)),
        progress=progress, label='products', done=done, total=total)
    template_category = TemplateCategory.__table__()
    _insert(template_category, [
            'template', 'category', 'create_uid', 'create_date'], (
            (template_ids[k], category_ids[k % len(category_ids)], uid, now)
            for k in range(products)))
    summary['products'] = products

    # One lot per lot-tracked product, expiring from last month to next year
    lot_ids = dict(zip(sorted(lot_tracked),
            _allocate_ids(Lot._table, len(lot_tracked))))
    lot = Lot.__table__()
    _insert(lot, [
            'id', 'number', 'product', 'shelf_life_expiration_date',
            'active', 'create_uid', 'create_date'], (
            (lot_ids[k], f'B{k + 1:07d}', product_ids[k],
                today + dt.timedelta(days=-30 + (k * 7) % 400), True, uid,
                now)
            for k in sorted(lot_tracked)))
    summary['lots'] = len(lot_ids)
    if backend.name == 'postgresql':
        # Fresh statistics of the bulk catalogue and bins, as autovacuum
        # would give a production database.  Before the moves: their
        # foreign key checks reuse the plans PostgreSQL made when the
        # curated demo's moves were checked, against a few hundred products,
        # lots and bins (sequential scans, run a million times at the end of
        # the COPY: over 40 min at scale 100); new statistics invalidate
        # those plans, the checks use the primary keys
        for Model in [Template, Product, Identifier, ListPrice, CostPrice,
                Lot, Location]:
            cursor.execute(f'ANALYZE "{Model._table}"')

    # Moves: round r visits every product once; a round of ten is
    # 6 receipts of 100, 3 shipments of 10 and 1 transfer of 5 to a second
    # bin, dated along the last year (the first receipt always comes first)
    move = Move.__table__()
    kinds = ['in', 'in', 'out', 'in', 'in', 'out', 'in', 'out', 'in', 'move']
    rounds = math.ceil(moves / products) if products else 0
    first = today - dt.timedelta(days=365)
    span = 364 / max(rounds, 1)
    nbins = len(bin_ids)

    def move_rows():
        for m in range(moves):
            r, k = divmod(m, products)
            kind = kinds[r % len(kinds)]
            date = first + dt.timedelta(days=int(r * span))
            home = bin_ids[k % nbins]
            weight_k, volume_k = weight(k), volume(k)
            if kind == 'in':
                quantity, from_, to = 100.0, supplier, home
                unit_price, currency_, cost_price = cost(k), currency, cost(k)
            elif kind == 'out':
                quantity, from_, to = 10.0, home, customer
                unit_price = (cost(k) * Decimal('1.8')).quantize(
                    Decimal('0.01'))
                currency_, cost_price = currency, cost(k)
            else:
                quantity, from_, to = 5.0, home, bin_ids[(k + 1) % nbins]
                if to == from_:
                    continue
                unit_price = currency_ = cost_price = None
            yield (product_ids[k], unit, quantity, quantity, from_, to,
                company.id, 'done', date, date, unit_price, currency_,
                cost_price, True, lot_ids.get(k), quantity * weight_k,
                quantity * volume_k, uid, now)
    count = _insert(move, [
            'product', 'unit', 'quantity', 'internal_quantity',
            'from_location', 'to_location', 'company', 'state',
            'effective_date', 'planned_date', 'unit_price', 'currency',
            'cost_price', 'unit_price_updated', 'lot', 'internal_weight',
            'internal_volume',
            'create_uid', 'create_date'],
        move_rows(), batch=1000, progress=progress, label='moves',
        total=moves)
    summary['done moves'] = count
    _forget_cached_records()
    # The moves went in by SQL, around the move transitions that maintain
    # the derived stock per bin: rebuild it from the ledger (rule 3), in
    # slices (PostgreSQL takes at most 65 535 query parameters)
    if backend.name == 'postgresql':
        # Statistics of the ledger first: planned as an empty table, the
        # aggregate of the ledger ran for hours at scale 100
        cursor.execute(f'ANALYZE "{Move._table}"')
    for i in range(0, len(product_ids), 10000):
        pool.get('stock.availability').rebuild(product_ids[i:i + 10000])

    summary['stock entries'] = _post_valuation_history(company)
    summary['seconds'] = time.monotonic() - start
    return summary


def _create_alerts_demo(company, warehouse):
    "Thresholds, alert rules and their first alerts (inventory_alerts)"
    from trytond.modules.inventory_alerts.demo import create_demo
    return create_demo(company, warehouse)


def _create_pack_demo(company, warehouse):
    """Box types for the pack station and one order picked and waiting
    to be packed (C4): the last reserved web order, with the demo
    carrier, picked without a wave.  Return the shipments picked."""
    pool = Pool()
    BoxType = pool.get('stock.package.type')
    Carrier = pool.get('carrier')
    Sale = pool.get('sale.sale')
    ShipmentOut = pool.get('stock.shipment.out')
    BoxType.create([{'name': name} for name in
            ["Box S 30×20×10 cm", "Box M 40×30×20 cm", "Envelope"]])
    carriers = Carrier.search([], limit=1)
    sales = Sale.search([('reference', 'like', 'DEMO-WEB-%')],
        order=[('id', 'DESC')], limit=1)
    shipments = [s for sale in sales for s in sale.shipments
        if s.state == 'assigned']
    if shipments:
        if carriers:
            ShipmentOut.write(shipments, {'carrier': carriers[0].id})
        ShipmentOut.pick(shipments)
    return shipments


def _create_count_demo(company, warehouse):
    """Cycle counts (B4): a four-week plan (default daily capacity) whose
    first day is the last working day, so that counts are due today (the
    curated ABC classes of the products are kept: the weekly cron
    recomputes them from consumption); return the tasks planned."""
    pool = Pool()
    Plan = pool.get('stock.count.plan')
    Date = pool.get('ir.date')
    today = Date.today()
    start = today - dt.timedelta(days=max(0, today.weekday() - 4))
    plan, = Plan.create([{
                'name': f'Cycle counts {start:%Y-%m-%d}',
                'company': company.id,
                'warehouse': warehouse.id,
                'start_date': start,
                'end_date': start + dt.timedelta(days=27),
                }])
    Plan.plan([plan])
    return Plan(plan.id).task_count


def _create_moves_demo(company, warehouse):
    """Internal moves (B3): two pick-face rules, the first one under its
    minimum so that a replenishment from reserve is proposed (FEFO for a
    lot-tracked product), and one open move order from reserve to a pick
    face.  Return the pick faces created."""
    pool = Pool()
    Availability = pool.get('stock.availability')
    PickFace = pool.get('stock.pick_face')
    Shipment = pool.get('stock.shipment.internal')
    rows = Availability.search([
            ('on_hand', '>', 0),
            ('location.zone', 'in', ['pick', 'reserve']),
            ], order=[('product', 'ASC'), ('id', 'ASC')])
    stock = {}
    for row in rows:
        by_zone = stock.setdefault(row.product, {})
        by_zone.setdefault(row.location.zone, []).append(row)
    # Products with a pick face and free reserve stock, lot-tracked first
    both = sorted(
        (p for p, z in stock.items() if z.get('pick') and any(
                r.on_hand - r.reserved > 0 for r in z.get('reserve', []))),
        key=lambda p: (not any(r.lot for r in stock[p]['reserve']), p.id))
    if len(both) < 3:
        return []
    faces = []
    for index, product in enumerate(both[:2]):
        pick = stock[product]['pick'][0]
        held = sum(r.on_hand - r.reserved for r in stock[product]['pick']
            if r.location == pick.location)
        minimum = held + 12 if index == 0 else max(held // 4, 1)
        faces.append({
                'company': company.id, 'location': pick.location.id,
                'product': product.id, 'minimum': minimum,
                'maximum': minimum + 48,
                })
    faces = PickFace.create(faces)
    PickFace.replenish(faces)
    # An open move order: a case of the third product to its pick face
    product = both[2]
    source = next(r for r in stock[product]['reserve']
        if r.on_hand - r.reserved >= 1)
    quantity = min(12, source.on_hand - source.reserved)
    storage = warehouse.storage_location
    order, = Shipment.create([{
                'company': company.id,
                'from_location': storage.id, 'to_location': storage.id,
                'reference': 'DEMO-MOVE-1',
                'moves': [('create', [{
                                'product': product.id,
                                'unit': product.default_uom.id,
                                'quantity': quantity,
                                'lot': source.lot.id if source.lot else None,
                                'from_location': source.location.id,
                                'to_location': stock[product]['pick'][
                                    0].location.id,
                                'company': company.id,
                                }])],
                }])
    Shipment.wait([order])
    return faces


def _create_match_demo(company):
    """The three-way match tolerance of the demo company (D2, issue 12):
    invoiced prices up to 5 % above the order; no quantity beyond what was
    received."""
    Tolerance = Pool().get('account.invoice.match.tolerance')
    Tolerance.create([{
                'company': company.id,
                'price_percentage': Decimal(5),
                }])
    return 1


def _create_valuation_demo(company, products):
    """Perpetual valuation (D2): the chart of accounts, continental fiscal
    years for last year and this one, the stock accounts on the demo
    accounting category, FIFO cost for the lot-tracked products and the
    average cost for the others, so that every demo move done from here on
    posts to the stock account.  Return the fiscal years created."""
    from .valuation_books import (
        create_chart, create_fiscal_year, set_category_accounts,
        stock_accounts)
    pool = Pool()
    Date = pool.get('ir.date')
    Template = pool.get('product.template')
    today = Date.today()
    create_chart(company)
    for year in [today.year - 1, today.year]:
        create_fiscal_year(company, year)
    category = products[0].template.account_category
    set_category_accounts(category, stock_accounts(company))
    templates = [p.template for p in products]
    fifo = [t for t in templates if t.lot_required]
    average = [t for t in templates if not t.lot_required]
    Template.write(fifo, {'cost_price_method': 'fifo'},
        average, {'cost_price_method': 'average'})
    return 2


def _post_valuation_history(company):
    """The bulk moves went in by SQL around account_stock_continental:
    post their entries set-based as it would have (D2), on the demo
    accounting category given to the bulk products; return the entries."""
    from .valuation_books import post_unposted_history
    pool = Pool()
    Category = pool.get('product.category')
    FiscalYear = pool.get('account.fiscalyear')
    if not FiscalYear.search([
                ('company', '=', company.id),
                ('account_stock_method', '=', 'continental')], limit=1):
        return 0
    categories = Category.search([
            ('name', '=', "Demo goods (no tax)"), ('accounting', '=', True)],
        limit=1)
    count = post_unposted_history(
        company, categories[0] if categories else None)
    _forget_cached_records()
    return count
