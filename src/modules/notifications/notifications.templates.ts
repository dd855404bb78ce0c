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
  const text = [`Hello ${payload.name},`, '', 'Your account is ready. Sales start at the times shown on the site; see you there.', '', 'Salescale', ''].join('\n');
  const html = layout(
    subject,
    `<h1 style="font-size: 20px">Hello ${escapeHtml(payload.name)},</h1>
<p>Your account is ready. Sales start at the times shown on the site; see you there.</p>`,
  );
  return { subject, text, html };
}

export function renderOrderConfirmation(order: OrderConfirmation): RenderedEmail {
  const subject = `Order ${order.orderId} confirmed`;
  const money = (cents: number) => formatMoney(cents, order.currency);
  const lines = order.items.map((item) => `  ${item.quantity} × ${item.name}  ${money(item.unitPriceCents * item.quantity)}`);
  const text = [
    `Hello${order.name ? ` ${order.name}` : ''},`,
    '',
    `Thank you for your order ${order.orderId}.`,
    '',
    ...lines,
    '',
    `  Total  ${money(order.totalCents)}`,
    '',
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
</table>`,
  );
  return { subject, text, html };
}

export interface ReservationExpired {
  orderId: number | string;
  email: string;
  name?: string;
  items: { name: string; quantity: number }[];
}

export function renderReservationExpired(payload: ReservationExpired): RenderedEmail {
  const subject = `Your reservation ${payload.orderId} expired`;
  const lines = payload.items.map((item) => `  ${item.quantity} × ${item.name}`);
  const text = [
    `Hello${payload.name ? ` ${payload.name}` : ''},`,
    '',
    `We held these items for you, but the payment for order ${payload.orderId} did not arrive in time, so they went back on sale:`,
    '',
    ...lines,
    '',
    'Nothing was charged. If they are still available, you can order them again.',
    '',
    'Salescale',
    '',
  ].join('\n');
  const rows = payload.items.map((item) => `<li>${item.quantity} × ${escapeHtml(item.name)}</li>`).join('\n');
  const html = layout(
    subject,
    `<h1 style="font-size: 20px">Your reservation ${escapeHtml(String(payload.orderId))} expired</h1>
<p>We held these items for you, but the payment did not arrive in time, so they went back on sale:</p>
<ul>
${rows}
</ul>
<p>Nothing was charged. If they are still available, you can order them again.</p>`,
  );
  return { subject, text, html };
}
