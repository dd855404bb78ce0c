import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderOrderConfirmation, renderWelcomeEmail } from './notifications.templates.ts';

describe('email templates', () => {
  it('greets a new customer by name in text and HTML, escaping markup', () => {
    const email = renderWelcomeEmail({ email: 'a@example.com', name: 'Ada <script>' });
    assert.match(email.subject, /Ada <script>/);
    assert.match(email.text, /^Hello Ada <script>,/);
    assert.match(email.html, /Hello Ada &lt;script&gt;,/);
    assert.doesNotMatch(email.html, /<script>/);
  });

  it('lists order lines with line totals and the order total', () => {
    const email = renderOrderConfirmation({
      orderId: 42,
      email: 'b@example.com',
      items: [
        { name: 'Mug', quantity: 2, unitPriceCents: 450 },
        { name: 'Tee', quantity: 1, unitPriceCents: 1999 },
      ],
      totalCents: 2899,
      currency: 'USD',
    });
    assert.equal(email.subject, 'Order 42 confirmed');
    assert.match(email.text, /2 × Mug {2}\$9\.00/);
    assert.match(email.text, /Total {2}\$28\.99/);
    assert.match(email.html, /<td>1 × Tee<\/td><td style="text-align: right">\$19\.99<\/td>/);
  });

  it('reads amounts in the minor unit of the currency: a whole yen (JPY), a thousandth of a dinar (KWD)', () => {
    const yen = renderOrderConfirmation({ orderId: 7, email: 'c@example.com', items: [{ name: 'Mug', quantity: 2, unitPriceCents: 1500 }], totalCents: 3000, currency: 'JPY' });
    assert.match(yen.text, /2 × Mug {2}¥3,000\n/);
    assert.match(yen.text, /Total {2}¥3,000\n/);
    assert.match(yen.html, />¥3,000<\/th>/);
    const dinar = renderOrderConfirmation({ orderId: 8, email: 'd@example.com', items: [{ name: 'Tee', quantity: 1, unitPriceCents: 12_345 }], totalCents: 12_345, currency: 'KWD' });
    assert.match(dinar.text, /Total {2}KWD\s12\.345\n/);
  });
});
