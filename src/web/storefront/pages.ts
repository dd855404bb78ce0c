import { MAX_LINE_QUANTITY } from '../../modules/cart/cart.schemas.ts';
import { formatPrice, html, type SafeHtml } from './html.ts';

export interface ProductView {
  id: number;
  name: string;
  description: string;
  priceCents: number;
  currency: string;
  available: number;
  categoryId: number | null;
  /** Most units one buyer may hold; null (or absent) for no limit. */
  maxPerCustomer?: number | null;
}

export interface CategoryView {
  id: number;
  slug: string;
  name: string;
  parentId: number | null;
}

/** A sale event as the storefront shows it. */
export interface SaleView {
  id: number;
  name: string;
  startsAt: string;
  endsAt: string;
  queued: boolean;
  productIds: number[];
}

function layout(options: { title: string; page: string; body: SafeHtml; q?: string; data?: Record<string, string | number> }): string {
  const data = Object.entries(options.data ?? {}).map(([k, v]) => html` data-${k}="${v}"`);
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · Salescale shop</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/storefront.css">
<script src="/assets/storefront.js" defer></script>
</head>
<body data-page="${options.page}"${data}>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <a class="brand" href="/">Salescale shop</a>
  <form class="search" role="search" action="/" method="get">
    <label for="q">Search products</label>
    <input id="q" name="q" type="search" value="${options.q ?? ''}" maxlength="100" autocomplete="off">
    <button type="submit">Search</button>
  </form>
  <nav aria-label="Account"><a href="/cart">Cart</a> <a href="/account">Account</a></nav>
</header>
<main id="main" tabindex="-1">
${options.body}
</main>
<footer class="foot"><p>Salescale demo storefront · <a href="/docs">API docs</a></p></footer>
</body>
</html>`.value;
}

function countdown(sale: SaleView): SafeHtml {
  return html`<p class="sale" data-countdown-start="${sale.startsAt}" data-countdown-end="${sale.endsAt}">
  <strong>${sale.name}</strong>: <span class="countdown" aria-live="off">starts ${new Date(sale.startsAt).toUTCString()}</span>
</p>`;
}

function productCard(product: ProductView): SafeHtml {
  return html`<li class="card">
  <h3><a href="/products/${product.id}">${product.name}</a></h3>
  <p class="price">${formatPrice(product.priceCents, product.currency)}</p>
  <p class="stock">${product.available > 0 ? `${product.available} in stock` : 'Sold out'}</p>
</li>`;
}

export function catalogPage(input: { products: ProductView[]; categories: CategoryView[]; q?: string; category?: string; sales: SaleView[]; nextCursor: string | null }): string {
  const { q, category } = input;
  const heading = q ? `Results for “${q}”` : category ? (input.categories.find((c) => c.slug === category)?.name ?? 'Products') : 'All products';
  const next = input.nextCursor ? `/?${new URLSearchParams({ ...(q ? { q } : {}), ...(category ? { category } : {}), cursor: input.nextCursor })}` : undefined;
  const body = html`
<div class="layout">
  <nav class="categories" aria-label="Categories">
    <h2>Categories</h2>
    <ul>
      <li><a href="/"${!category ? html` aria-current="page"` : ''}>All</a></li>
      ${input.categories.map((c) => html`<li><a href="/?category=${encodeURIComponent(c.slug)}"${c.slug === category ? html` aria-current="page"` : ''}>${c.name}</a></li>`)}
    </ul>
  </nav>
  <section aria-labelledby="heading">
    ${input.sales.map(countdown)}
    <h1 id="heading">${heading}</h1>
    ${input.products.length === 0 ? html`<p>No products found.</p>` : html`<ul class="grid">${input.products.map(productCard)}</ul>`}
    ${next ? html`<p><a class="button" href="${next}">More products</a></p>` : ''}
  </section>
</div>`;
  return layout({ title: heading, page: 'catalog', body, q });
}

/** `now`: when the page is rendered (a queued sale not started yet is worded as the time its product goes on sale). */
export function productPage(input: { product: ProductView; category?: CategoryView; sale?: SaleView; now?: number }): string {
  const { product, sale } = input;
  // What one add may ask for: a cart line's maximum, or the product's per-customer cap when lower. The stock is left to
  // the server's refusal, which the page words ("only N left"): it changes while the page is open.
  const maxQuantity = Math.min(MAX_LINE_QUANTITY, product.maxPerCustomer ?? MAX_LINE_QUANTITY);
  const body = html`
<article class="product">
  <p class="crumbs"><a href="/">All products</a>${input.category ? html` › <a href="/?category=${encodeURIComponent(input.category.slug)}">${input.category.name}</a>` : ''}</p>
  <h1>${product.name}</h1>
  ${sale ? countdown(sale) : ''}
  <p class="price">${formatPrice(product.priceCents, product.currency)}</p>
  <p class="stock">Availability: <span data-available>${product.available > 0 ? `${product.available} in stock` : 'Sold out'}</span></p>
  <p class="visually-hidden" role="status" data-stock-news></p>
  <p>${product.description}</p>
  ${
    sale?.queued
      ? html`<div class="queue-box" data-queued-sale="${sale.id}">
    ${
      Date.parse(sale.startsAt) > (input.now ?? Date.now())
        ? html`<p data-sale-not-started>This product goes on sale at <strong>${new Date(sale.startsAt).toUTCString()}</strong>, when <strong>${sale.name}</strong> starts, through a waiting room: it cannot be ordered before. Join the line (it opens a day before the start; the order of those who join before the start is drawn at random), and you will be let in, in turn, at the pace the shop can serve.</p>`
        : html`<p>This product is sold through a waiting room during <strong>${sale.name}</strong>: visitors are let in at the pace the shop can serve, in turn.</p>`
    }
    <p data-pass-status hidden></p>
    <p><a class="button" data-join href="/sale/${sale.id}/queue?product=${product.id}">Join the waiting room</a></p>
  </div>`
      : ''
  }
  <noscript><p>Adding to the cart and ordering need JavaScript: turn it on in your browser to buy.</p></noscript>
  <form class="buy" data-add-to-cart hidden data-needs-js>
    <label for="quantity">Quantity</label>
    <input id="quantity" name="quantity" type="number" min="1" max="${maxQuantity}" value="1" required>
    <button type="submit">Add to cart</button>
  </form>
  <p class="message" role="status" aria-live="polite" data-message></p>
</article>`;
  return layout({ title: product.name, page: 'product', body, data: { product: product.id, ...(sale?.queued ? { 'queued-sale': sale.id } : {}) } });
}

export function waitingRoomPage(input: { sale: SaleView; productId?: number }): string {
  const { sale } = input;
  const body = html`
<section class="room" aria-labelledby="room-title">
  <h1 id="room-title">Waiting room: ${sale.name}</h1>
  ${countdown(sale)}
  <p>You are in line. Keep this page open: it updates by itself, and you keep your place if you reload.</p>
  <div class="status">
    <p class="state" role="status" tabindex="-1" data-state>Joining the line…</p>
    <p class="position"><span class="label">Your place in line</span> <strong data-position>–</strong></p>
    <p class="eta"><span class="label">Estimated wait</span> <strong data-eta>–</strong></p>
  </div>
  <p class="visually-hidden" role="status" data-announce></p>
  <progress data-progress max="100" value="0" aria-label="Progress through the line"></progress>
  <p data-admitted hidden><a class="button" href="${input.productId ? `/products/${input.productId}` : '/'}">It’s your turn: continue shopping</a> <span data-pass-left></span></p>
  <p data-join-again hidden><button type="button" class="button">Join the line again</button></p>
</section>`;
  return layout({ title: `Waiting room · ${sale.name}`, page: 'waiting-room', body, data: { sale: sale.id, ...(input.productId ? { product: input.productId } : {}) } });
}

export function cartPage(): string {
  const body = html`
<section aria-labelledby="cart-title">
  <h1 id="cart-title">Your cart</h1>
  <div data-cart><p hidden data-needs-js>Loading your cart…</p></div>
  <noscript><p>The cart and ordering need JavaScript: turn it on in your browser to see your cart and order.</p></noscript>
  <p class="message" role="status" aria-live="polite" tabindex="-1" data-message></p>
</section>`;
  return layout({ title: 'Cart', page: 'cart', body, data: { 'max-quantity': MAX_LINE_QUANTITY } });
}

export function accountPage(next: string): string {
  const body = html`
<section aria-labelledby="account-title">
  <h1 id="account-title">Your account</h1>
  <p data-signed-in hidden></p>
  <p data-sign-out hidden><button type="button">Sign out</button></p>
  <noscript><p>Signing in and creating an account need JavaScript: turn it on in your browser to use them. The catalog and the product pages work without it.</p></noscript>
  <div class="forms" hidden data-needs-js>
    <form data-sign-in method="post">
      <h2>Sign in</h2>
      <label for="signin-email">Email</label>
      <input id="signin-email" name="email" type="email" autocomplete="email" required>
      <label for="signin-password">Password</label>
      <input id="signin-password" name="password" type="password" autocomplete="current-password" required minlength="8">
      <button type="submit">Sign in</button>
    </form>
    <form data-register method="post">
      <h2>Create an account</h2>
      <label for="register-name">Name</label>
      <input id="register-name" name="name" autocomplete="name" required>
      <label for="register-email">Email</label>
      <input id="register-email" name="email" type="email" autocomplete="email" required>
      <label for="register-password">Password (at least 8 characters)</label>
      <input id="register-password" name="password" type="password" autocomplete="new-password" required minlength="8">
      <button type="submit">Create account</button>
    </form>
  </div>
  <p class="message" role="alert" data-message></p>
</section>`;
  return layout({ title: 'Account', page: 'account', body, data: { next } });
}

export function orderPage(orderId: number): string {
  const body = html`
<section aria-labelledby="order-title">
  <h1 id="order-title">Order ${orderId}</h1>
  <div data-order><p hidden data-needs-js>Loading your order…</p></div>
  <noscript><p>Your order's page needs JavaScript: turn it on in your browser to see, pay or cancel it.</p></noscript>
  <p class="message" role="status" aria-live="polite" data-message></p>
</section>`;
  return layout({ title: `Order ${orderId}`, page: 'order', body, data: { order: orderId } });
}

/**
 * A guest's order, reached by the access token its checkout answered (the page's last path segment, which the
 * script reads): the token is the order's only key, so the page tells the shopper to keep its address.
 */
export function guestOrderPage(orderId: number): string {
  const body = html`
<section aria-labelledby="order-title">
  <h1 id="order-title">Order ${orderId}</h1>
  <p>Keep this page's address (bookmark it): it is the way back to your order, for paying, cancelling or checking it.</p>
  <div data-order><p hidden data-needs-js>Loading your order…</p></div>
  <noscript><p>Your order's page needs JavaScript: turn it on in your browser to see, pay or cancel it.</p></noscript>
  <p class="message" role="status" aria-live="polite" data-message></p>
</section>`;
  return layout({ title: `Order ${orderId}`, page: 'guest-order', body });
}

export function notFoundPage(what: string): string {
  return layout({ title: 'Not found', page: 'not-found', body: html`<h1>Not found</h1><p>${what}</p><p><a href="/">Back to the shop</a></p>` });
}

/** A page's address the shop could not read (its query string, a repeated parameter): what to do instead. */
export function badRequestPage(what: string): string {
  return layout({ title: 'Not understood', page: 'bad-request', body: html`<h1>The shop could not read this address</h1><p>${what}</p><p><a href="/">Back to the shop</a></p>` });
}
