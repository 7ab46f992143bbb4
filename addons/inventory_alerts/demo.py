"""Demo thresholds, alert rules and their first alerts (B1, B2), loaded by
``inventory_flow.demo.generate`` after the demo stock."""
from trytond.pool import Pool
from trytond.transaction import Transaction


def create_demo(company, warehouse):
    """Give every curated product a threshold around its stock (a few below
    safety, one above maximum), a default per category, near-expiry days on
    the categories, three rules owned by the demo buyer and manager, and
    evaluate them once.  Return the number of alerts opened."""
    pool = Pool()
    Product = pool.get('product.product')
    Category = pool.get('product.category')
    Threshold = pool.get('stock.threshold')
    Rule = pool.get('stock.alert.rule')
    User = pool.get('res.user')
    Availability = pool.get('stock.availability')

    buyer, = User.search([('login', '=', 'buyer')])
    manager, = User.search([('login', '=', 'manager')])
    categories = Category.search([('accounting', '=', False)],
        order=[('id', 'ASC')])
    for index, category in enumerate(categories):
        category.expiry_alert_days = 30 if index % 2 == 0 else 14
    Category.save(categories)

    on_hand = {}
    cursor = Transaction().connection.cursor()
    table = Availability.__table__()
    cursor.execute(*table.select(table.product, table.on_hand))
    for product_id, quantity in cursor:
        on_hand[product_id] = on_hand.get(product_id, 0) + (quantity or 0)
    products = Product.search([('type', '=', 'goods')],
        order=[('id', 'ASC')])
    thresholds = []
    for index, product in enumerate(products):
        stock = on_hand.get(product.id, 0)
        if index % 4 == 0:
            # below safety: replenish
            safety = round(stock * 1.5) + 10
        elif index == 5:
            # far above its ceiling: over-stock
            safety = max(round(stock * 0.1), 1)
        else:
            safety = max(round(stock * 0.5), 1)
        maximum = max(round(stock * 0.6), safety * 3) if index != 5 else (
            safety * 2)
        thresholds.append({
                'product': product.id,
                'warehouse': warehouse.id,
                'safety': safety,
                'minimum': round(safety / 2),
                'maximum': maximum,
                'buyer': buyer.id,
                })
    thresholds += [{'category': c.id, 'warehouse': warehouse.id,
            'safety': 5, 'minimum': 2, 'maximum': 500}
        for c in categories]
    Threshold.create(thresholds)
    Rule.create([{
                'name': "Replenish below safety stock",
                'kind': 'safety', 'owner': buyer.id,
                'action_request': True, 'action_notify': True,
                }, {
                'name': "Urgent: below minimum",
                'kind': 'minimum', 'owner': manager.id,
                'action_notify': True, 'action_email': True,
                }, {
                'name': "Over-stock",
                'kind': 'maximum', 'owner': manager.id,
                'action_flag': True, 'action_notify': True,
                }])
    with Transaction().set_context(company=company.id):
        opened, _ = Rule.evaluate()
    return len(opened)
