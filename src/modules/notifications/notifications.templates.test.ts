import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderOrderConfirmation, renderPaymentReturned, renderReservationExpired, renderWelcomeEmail } from './notifications.templates.ts';

describe('email templates', () => {
  it('greets a new customer by name in text and HTML, escaping markup', () => {
    const email = renderWelcomeEmail({ email: 'a@example.com', name: 'Ada <script>' });
    assert.match(email.subject, /Ada <script>/);
    assert.match(email.text, /^Hello Ada <script>,/);
    assert.match(email.html, /Hello Ada &lt;script&gt;,/);
    assert.doesNotMatch(email.html, /<script>/);
  });

  it('keeps a name or product name on its own line in the text part: line breaks in it cannot forge lines of the email', () => {
    // Registration does not prove the address is the registrant's: a name such as this one would otherwise put lines
    // of the sender's choosing ("your order failed, pay at …") into the shop's welcome email to someone else's mailbox.
    const forged = 'Ada\r\n\r\nYour card was declined. Pay again at https://evil.example\u2028\u2028Salescale\n';
    const welcome = renderWelcomeEmail({ email: 'a@example.com', name: forged });
    assert.match(welcome.text, /^Hello Ada Your card was declined\. Pay again at https:\/\/evil\.example Salescale,\n/);
    const order = renderOrderConfirmation({ orderId: 3, email: 'a@example.com', name: forged, items: [{ name: 'Mug\n  Total  $0.00', quantity: 1, unitPriceCents: 500 }], totalCents: 500, currency: 'USD' });
    const expired = renderReservationExpired({ orderId: 4, email: 'a@example.com', name: forged, items: [{ name: 'Mug\r\nRefund at https://evil.example', quantity: 1 }] });
    const returned = renderPaymentReturned({ orderId: 5, email: 'a@example.com', name: forged, amountCents: 500, currency: 'USD', action: 'refunded', reason: 'cancelled' });
    for (const email of [welcome, order, expired, returned]) {
      // The forged text stays inside the greeting's or the item's line, never a line of its own.
      const forgedLines = email.text.split('\n').filter((line) => line.includes('evil.example'));
      assert.ok(forgedLines.length > 0 && forgedLines.every((line) => line.startsWith('Hello Ada ') || line.startsWith('  1 × Mug ')), email.text);
      assert.ok(!/[\r\u2028\u2029]/.test(email.text), email.text);
      assert.match(email.text, /^Hello Ada /);
    }
    assert.equal(order.text.split('\n').filter((line) => line.includes('Total')).length, 2, 'the forged total stays on its line: ' + order.text);
    assert.match(order.text, /^ {2}1 × Mug Total {2}\$0\.00 {2}\$5\.00$/m);
    assert.match(expired.text, /^ {2}1 × Mug Refund at https:\/\/evil\.example$/m);
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

  it('links the order when given its address (escaped in HTML), and names none without one (no SHOP_URL)', () => {
    const order = { orderId: 9, email: 'g@example.com', items: [{ name: 'Mug', quantity: 1, unitPriceCents: 500 }], totalCents: 500, currency: 'USD' };
    const url = 'https://shop.example/guest-orders/9.a"b<c>';
    const linked = renderOrderConfirmation(order, url);
    assert.match(linked.text, /^Your order: https:\/\/shop\.example\/guest-orders\/9\.a"b<c>$/m);
    assert.ok(linked.html.includes('<a href="https://shop.example/guest-orders/9.a&quot;b&lt;c&gt;">'), linked.html);
    const unlinked = renderOrderConfirmation(order);
    assert.ok(!unlinked.text.includes('Your order:') && !unlinked.html.includes('<a href'), unlinked.text);
  });

  it('tells the buyer of an expired reservation nothing a late payment would make false', () => {
    // Sent when the order expires; a payment may still arrive after it, to be given back (refunded if captured).
    const email = renderReservationExpired({ orderId: 9, email: 'h@example.com', items: [{ name: 'Mug', quantity: 1 }] });
    assert.doesNotMatch(email.text, /Nothing was charged/);
    assert.doesNotMatch(email.html, /Nothing was charged/);
    assert.match(email.text, /a payment for this order that arrives now is given back in full/);
    assert.match(email.text, /payment for order 9 did not arrive in time/);
  });

  it('tells the buyer of a reservation the shop cancelled that the shop did, not that their payment was late', () => {
    const email = renderReservationExpired({ orderId: 10, email: 'h@example.com', items: [{ name: 'Mug', quantity: 2 }], reason: 'cancelled' });
    assert.equal(email.subject, 'Your reservation 10 was cancelled');
    assert.match(email.text, /the shop cancelled order 10 before it was paid, so they went back on sale:\n\n {2}2 × Mug\n/);
    assert.match(email.html, /the shop cancelled the order before it was paid/);
    assert.doesNotMatch(email.text + email.html, /did not arrive in time/);
  });

  it('tells the buyer a late payment was not taken (a hold released) or refunded, why, and where to order again', () => {
    const voided = renderPaymentReturned({ orderId: 51, email: 'e@example.com', name: 'Ada <b>', amountCents: 4200, currency: 'USD', action: 'voided', reason: 'expired', shopUrl: 'https://shop.example/?a=1&b=2' });
    assert.equal(voided.subject, 'Your payment for order 51 was not taken');
    assert.match(voided.text, /^Hello Ada <b>,\n/);
    assert.match(voided.text, /Your payment of \$42\.00 for order 51 was not taken, because the reservation had expired/);
    assert.match(voided.text, /hold on your card has been released; your bank usually removes it within a few days/);
    assert.match(voided.text, /order again at https:\/\/shop\.example\/\?a=1&b=2\n/);
    assert.match(voided.html, /<p>Your payment of \$42\.00 for order 51 was not taken, because the reservation had expired/);
    assert.match(voided.html, /<a href="https:\/\/shop\.example\/\?a=1&amp;b=2">order again at the shop<\/a>/);
    assert.doesNotMatch(voided.html, /<b>/);
    const refunded = renderPaymentReturned({ orderId: 52, email: 'f@example.com', amountCents: 3000, currency: 'JPY', action: 'refunded', reason: 'already_paid' });
    assert.equal(refunded.subject, 'Your payment for order 52 was refunded');
    assert.match(refunded.text, /^Hello,\n/);
    assert.match(refunded.text, /Your payment of ¥3,000 for order 52 was refunded in full, because the order had already been paid with another payment\./);
    assert.match(refunded.text, /order them again at the shop\.\n/);
    assert.match(refunded.html, /¥3,000/);
    const byShop = renderPaymentReturned({ orderId: 53, email: 'g@example.com', amountCents: 1250, currency: 'EUR', action: 'refunded', reason: 'refunded_by_shop' });
    assert.match(byShop.text, /Your payment of €12\.50 for order 53 was refunded in full, because the shop cancelled the order\.\n\nThe refund is on its way/);
    const dinar = renderPaymentReturned({ orderId: 53, email: 'g@example.com', amountCents: 12_345, currency: 'KWD', action: 'voided', reason: 'cancelled' });
    assert.match(dinar.text, /payment of KWD\s12\.345 for order 53 was not taken, because the order had been cancelled\./);
  });
});
