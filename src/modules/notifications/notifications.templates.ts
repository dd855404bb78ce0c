/** Email templates: pure functions from a payload to subject, plain text and HTML. */

export interface WelcomeEmail {
  email: string;
  name: string;
}

export interface OrderLine {
  name: string;
  quantity: number;
  unitPriceCents: number;
  sku?: string;
}

export interface OrderConfirmation {
  orderId: number | string;
  email: string;
  name?: string;
  /** Whether the buyer is a guest (`order-paid`'s fan-out says; unset in a job queued before it did: no link then). */
  guest?: boolean;
  items: OrderLine[];
  totalCents: number;
  currency: string;
}

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/**
 * A value written into one line of the text part (a customer's or product's name, an order id): its line breaks,
 * with the blanks around them, become one space. A name is free text (`displayName` takes any visible character,
 * line breaks too) and registration does not prove the address is the registrant's, so a name spanning lines would
 * put lines of its author's choosing ("your card was declined, pay again at …") into the shop's email to someone
 * else's mailbox. The HTML part needs no such care (markup is escaped, and HTML joins lines); the subject neither
 * (the mail library folds a header's line breaks into spaces).
 */
export function oneLine(value: string | number): string {
  return String(value).replace(/\s*[\r\n\v\f\u0085\u2028\u2029]\s*/g, ' ').trim();
}

/**
 * An amount in the currency's minor unit (`priceCents`, as the payment provider charges it): a hundredth for
 * most currencies but a whole yen or won (JPY, KRW: no decimals) and a thousandth of a dinar (KWD, BHD), the
 * same rule as the storefront's `formatPrice`.
 */
export function formatMoney(cents: number, currency: string): string {
  const format = new Intl.NumberFormat('en-US', { style: 'currency', currency });
  return format.format(cents / 10 ** (format.resolvedOptions().maximumFractionDigits ?? 2));
}

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body style="font-family: system-ui, sans-serif; color: #222; max-width: 560px; margin: 0 auto; padding: 24px">
${body}
<p style="color: #888; font-size: 12px">Salescale</p>
</body></html>
`;
}

export function renderWelcomeEmail(payload: WelcomeEmail): RenderedEmail {
  const subject = `Welcome to Salescale, ${payload.name}`;
  const text = [`Hello ${oneLine(payload.name)},`, '', 'Your account is ready. Sales start at the times shown on the site; see you there.', '', 'Salescale', ''].join('\n');
  const html = layout(
    subject,
    `<h1 style="font-size: 20px">Hello ${escapeHtml(payload.name)},</h1>
<p>Your account is ready. Sales start at the times shown on the site; see you there.</p>`,
  );
  return { subject, text, html };
}

/**
 * `orderUrl`: where the buyer sees the order (a guest's order link, an account's order page); unset, the email
 * names no address.
 */
export function renderOrderConfirmation(order: OrderConfirmation, orderUrl?: string): RenderedEmail {
  const subject = `Order ${order.orderId} confirmed`;
  const money = (cents: number) => formatMoney(cents, order.currency);
  const lines = order.items.map((item) => `  ${item.quantity} × ${oneLine(item.name)}  ${money(item.unitPriceCents * item.quantity)}`);
  const text = [
    `Hello${order.name ? ` ${oneLine(order.name)}` : ''},`,
    '',
    `Thank you for your order ${oneLine(order.orderId)}.`,
    '',
    ...lines,
    '',
    `  Total  ${money(order.totalCents)}`,
    '',
    ...(orderUrl ? [`Your order: ${orderUrl}`, ''] : []),
    'Salescale',
    '',
  ].join('\n');
  const rows = order.items
    .map(
      (item) =>
        `<tr><td>${item.quantity} × ${escapeHtml(item.name)}</td><td style="text-align: right">${escapeHtml(money(item.unitPriceCents * item.quantity))}</td></tr>`,
    )
    .join('\n');
  const html = layout(
    subject,
    `<h1 style="font-size: 20px">Thank you for your order ${escapeHtml(String(order.orderId))}</h1>
<table style="width: 100%; border-collapse: collapse">
${rows}
<tr><th style="text-align: left; border-top: 1px solid #ccc">Total</th><th style="text-align: right; border-top: 1px solid #ccc">${escapeHtml(money(order.totalCents))}</th></tr>
</table>${orderUrl ? `\n<p><a href="${escapeHtml(orderUrl)}">See your order</a></p>` : ''}`,
  );
  return { subject, text, html };
}

export interface ReservationExpired {
  orderId: number | string;
  email: string;
  name?: string;
  items: { name: string; quantity: number }[];
  /**
   * Why the reservation ended: its payment window closed, or the shop cancelled the order before it was paid.
   * @defaultValue 'expired'
   */
  reason?: 'expired' | 'cancelled';
}

export function renderReservationExpired(payload: ReservationExpired): RenderedEmail {
  const cancelled = payload.reason === 'cancelled';
  const subject = cancelled ? `Your reservation ${payload.orderId} was cancelled` : `Your reservation ${payload.orderId} expired`;
  const lines = payload.items.map((item) => `  ${item.quantity} × ${oneLine(item.name)}`);
  const held = cancelled
    ? 'We held these items for you, but the shop cancelled the order before it was paid, so they went back on sale:'
    : 'We held these items for you, but the payment did not arrive in time, so they went back on sale:';
  const text = [
    `Hello${payload.name ? ` ${oneLine(payload.name)}` : ''},`,
    '',
    cancelled
      ? `We held these items for you, but the shop cancelled order ${payload.orderId} before it was paid, so they went back on sale:`
      : `We held these items for you, but the payment for order ${payload.orderId} did not arrive in time, so they went back on sale:`,
    '',
    ...lines,
    '',
    'You are not charged for them: a payment for this order that arrives now is given back in full. If they are still available, you can order them again.',
    '',
    'Salescale',
    '',
  ].join('\n');
  const rows = payload.items.map((item) => `<li>${item.quantity} × ${escapeHtml(item.name)}</li>`).join('\n');
  const html = layout(
    subject,
    `<h1 style="font-size: 20px">${escapeHtml(subject)}</h1>
<p>${escapeHtml(held)}</p>
<ul>
${rows}
</ul>
<p>You are not charged for them: a payment for this order that arrives now is given back in full. If they are still available, you can order them again.</p>`,
  );
  return { subject, text, html };
}

/** Why a payment was given back: the order could no longer take it, or the shop refunded the order it paid (`refunded_by_shop`). */
export type PaymentReturnedReason = 'expired' | 'cancelled' | 'already_paid' | 'amount_mismatch' | 'not_payable' | 'refunded_by_shop';

/**
 * A payment given back: voided (a hold released, nothing taken) or refunded (a capture returned), for an
 * order that could not take it or that the shop refunded. `amountCents` and `currency` are the payment's, as the buyer's bank shows it.
 */
export interface PaymentReturned {
  orderId: number | string;
  email: string;
  name?: string;
  amountCents: number;
  currency: string;
  action: 'voided' | 'refunded';
  reason: PaymentReturnedReason;
  /** The shop, to order again (SHOP_URL); unset, the email names no address. */
  shopUrl?: string;
}

const RETURNED_BECAUSE: Record<PaymentReturnedReason, string> = {
  expired: 'the reservation had expired before the payment arrived, and its items went back on sale',
  cancelled: 'the order had been cancelled',
  already_paid: 'the order had already been paid with another payment',
  amount_mismatch: 'the amount did not match the order',
  not_payable: 'the order could no longer be paid',
  refunded_by_shop: 'the shop cancelled the order',
};

export function renderPaymentReturned(payload: PaymentReturned): RenderedEmail {
  const amount = formatMoney(payload.amountCents, payload.currency);
  const voided = payload.action === 'voided';
  const subject = voided ? `Your payment for order ${payload.orderId} was not taken` : `Your payment for order ${payload.orderId} was refunded`;
  const what = voided
    ? `Your payment of ${amount} for order ${payload.orderId} was not taken, because ${RETURNED_BECAUSE[payload.reason]}.`
    : `Your payment of ${amount} for order ${payload.orderId} was refunded in full, because ${RETURNED_BECAUSE[payload.reason]}.`;
  const when = voided
    ? 'The hold on your card has been released; your bank usually removes it within a few days.'
    : 'The refund is on its way; your bank usually shows it within 5 to 10 business days.';
  const again = payload.shopUrl ? `If you still want the items, you can order again at ${payload.shopUrl}` : 'If you still want the items, you can order them again at the shop.';
  const text = [`Hello${payload.name ? ` ${oneLine(payload.name)}` : ''},`, '', what, '', when, '', again, '', 'Salescale', ''].join('\n');
  const link = payload.shopUrl
    ? `If you still want the items, you can <a href="${escapeHtml(payload.shopUrl)}">order again at the shop</a>.`
    : 'If you still want the items, you can order them again at the shop.';
  const html = layout(
    subject,
    `<h1 style="font-size: 20px">${escapeHtml(subject)}</h1>
<p>${escapeHtml(what)}</p>
<p>${escapeHtml(when)}</p>
<p>${link}</p>`,
  );
  return { subject, text, html };
}
