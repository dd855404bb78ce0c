import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts';
import { waitFor } from '../../../test/helpers/queues.ts';
import { MAX_LINE_QUANTITY } from '../../modules/cart/cart.schemas.ts';

describe('storefront assets', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  it('serves its own files', async () => {
    const script = await t.app.inject({ url: '/assets/storefront.js' });
    assert.equal(script.statusCode, 200);
    assert.match(String(script.headers['content-type']), /^text\/javascript/);
  });

  // The names were looked up on an object literal, so the names its prototype has were "found" and answered 500:
  // any visitor could raise the error rate that /health and the cluster's degrade signal read.
  it('answers 404 for every other name, the names an object inherits included', async () => {
    for (const name of ['nope.js', 'constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf', '__defineGetter__']) {
      const reply = await t.app.inject({ url: `/assets/${name}` });
      assert.equal(reply.statusCode, 404, `${name}: ${reply.body.slice(0, 200)}`);
      assert.match(String(reply.headers['content-type']), /^text\/html/);
    }
  });
});

describe('storefront: a product in two sales', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ WAITING_ROOM_EVENTS_REFRESH_MS: '100' });
  });
  after(() => t.close());

  // The page showed the first sale listing the product, earliest start first: a week-long sale without a waiting
  // room hid the queued doorbuster hour inside it, so the page offered no way into the line and showed the
  // "add to cart" form, whose checkout was then refused PASS_REQUIRED.
  it('offers the waiting room of a live queued sale, even when a sale without one lists the product too', async () => {
    const post = (url: string, payload: unknown) => t.app.inject({ method: 'POST', url, headers: t.admin, payload: payload as object });
    const product = await post('/api/v1/admin/products', { sku: `two-sales-${Date.now()}`, name: 'Doorbuster TV', priceCents: 49_900, available: 10 });
    assert.equal(product.statusCode, 201, product.body);
    const productId = product.json().id as number;
    const now = Date.now();
    const week = await post('/api/v1/admin/sale-events', {
      name: 'Black Friday week',
      startsAt: new Date(now - 86_400_000).toISOString(),
      endsAt: new Date(now + 6 * 86_400_000).toISOString(),
      productIds: [productId],
    });
    assert.equal(week.statusCode, 201, week.body);
    const doorbuster = await post('/api/v1/admin/sale-events', {
      name: 'Doorbuster hour',
      startsAt: new Date(now - 60_000).toISOString(),
      endsAt: new Date(now + 3_600_000).toISOString(),
      productIds: [productId],
      waitingRoom: { enabled: true, admissionPerSecond: 10 },
    });
    assert.equal(doorbuster.statusCode, 201, doorbuster.body);
    const page = await t.app.inject({ url: `/products/${productId}` });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, new RegExp(`data-queued-sale="${doorbuster.json().id}"`), 'the product page links to the waiting room of the queued sale');
    assert.match(page.body, /Doorbuster hour/);
  });

  it('says when a queued sale that has not started puts the product on sale, with its waiting room, rather than offering a checkout it would refuse', async () => {
    const post = (url: string, payload: unknown) => t.app.inject({ method: 'POST', url, headers: t.admin, payload: payload as object });
    const product = await post('/api/v1/admin/products', { sku: `prestart-${Date.now()}`, name: 'Doorbuster console', priceCents: 39_900, available: 10 });
    assert.equal(product.statusCode, 201, product.body);
    const productId = product.json().id as number;
    const now = Date.now();
    const week = await post('/api/v1/admin/sale-events', {
      name: 'Cyber week',
      startsAt: new Date(now - 86_400_000).toISOString(),
      endsAt: new Date(now + 6 * 86_400_000).toISOString(),
      productIds: [productId],
    });
    assert.equal(week.statusCode, 201, week.body);
    // In an hour: its line is open (the pre-queue), and checkout of the product is refused until the start.
    const doorbuster = await post('/api/v1/admin/sale-events', {
      name: 'Console drop',
      startsAt: new Date(now + 3_600_000).toISOString(),
      endsAt: new Date(now + 7_200_000).toISOString(),
      productIds: [productId],
      waitingRoom: { enabled: true, admissionPerSecond: 10 },
    });
    assert.equal(doorbuster.statusCode, 201, doorbuster.body);
    // The storefront reuses its list of sales for up to 2 s: polled until the page has read it again.
    const page = await waitFor(
      'the product page to show the sale about to start',
      async () => {
        const reply = await t.app.inject({ url: `/products/${productId}` });
        return reply.statusCode === 200 && reply.body.includes('data-queued-sale=') ? reply : undefined;
      },
      15_000,
    );
    assert.match(page.body, new RegExp(`data-queued-sale="${doorbuster.json().id}"`), 'the product page links to the waiting room of the sale about to start, not the week-long sale');
    assert.match(page.body, /data-sale-not-started>This product goes on sale at <strong>[^<]+<\/strong>, when <strong>Console drop<\/strong> starts/);
  });
});

describe('storefront: joining the line when the reply is lost', () => {
  let t: TestApp;
  before(async () => {
    // One guest ticket per address, the default: what every guest of an office or a carrier's NAT meets.
    t = await createTestApp({ WAITING_ROOM_EVENTS_REFRESH_MS: '100', WAITING_ROOM_TICKETS_PER_ADDRESS: '1' });
  });
  after(() => t.close());

  // The visitor cookie came only with the join's reply: a reply lost on the network (a proxy's timeout at the peak)
  // took the cookie with it, and the page's retry, without one, was a new visitor: a second ticket, refused 429
  // TICKET_LIMIT_REACHED ("sign in to join the line"), while the first held the address's place.
  it('gives the visitor its cookie with the waiting-room page, so a join retried after a lost reply gets the same ticket', async () => {
    const post = (url: string, payload: unknown) => t.app.inject({ method: 'POST', url, headers: t.admin, payload: payload as object });
    const product = await post('/api/v1/admin/products', { sku: `lost-join-${Date.now()}`, name: 'Console', priceCents: 49_900, available: 10 });
    assert.equal(product.statusCode, 201, product.body);
    const sale = await post('/api/v1/admin/sale-events', {
      name: 'Console drop',
      startsAt: new Date(Date.now() + 3_600_000).toISOString(),
      endsAt: new Date(Date.now() + 7_200_000).toISOString(),
      productIds: [product.json().id],
      waitingRoom: { enabled: true, admissionPerSecond: 10 },
    });
    assert.equal(sale.statusCode, 201, sale.body);
    const saleId = sale.json().id as number;
    for (const deadline = Date.now() + 30_000; (await t.app.inject({ url: `/api/v1/sale-events/${saleId}/queue` })).statusCode !== 200; ) {
      assert.ok(Date.now() < deadline, 'the room is read');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    // The browser keeps the cookies of the replies it receives: the page's; the first join's reply never arrives.
    const page = await t.app.inject({ url: `/sale/${saleId}/queue` });
    assert.equal(page.statusCode, 200);
    const jar = page.cookies.filter((c) => c.name === 'salescale_visitor').map((c) => `${c.name}=${c.value}`).join('; ');
    const join = () => t.app.inject({ method: 'POST', url: `/api/v1/sale-events/${saleId}/queue`, headers: jar ? { cookie: jar } : {} });
    const lost = await join();
    assert.equal(lost.statusCode, 201, lost.body);
    const retried = await join();
    assert.equal(retried.statusCode, 201, `the retry joins: ${retried.body}`);
    assert.equal(retried.json().ticket, lost.json().ticket, 'the retry gets the ticket of the join whose reply was lost');
    assert.equal(retried.headers['idempotent-replayed'], 'true');
  });
});

describe('storefront without JavaScript', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  // Adding to the cart, the cart, checkout and the order pages go through the API from storefront.js. With it off
  // (or not loaded yet), the product page showed a working-looking "Add to cart" whose plain submission reloaded
  // the page with ?quantity=1 and added nothing, and the cart and order pages said "Loading…" for ever.
  it('shows no control that needs the script until it runs, and says what needs JavaScript', async () => {
    const product = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: `nojs-${Date.now()}`, name: 'Plain Runner', priceCents: 1_000, available: 5 } });
    assert.equal(product.statusCode, 201, product.body);
    const page = await t.app.inject({ url: `/products/${product.json().id}` });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<form class="buy" data-add-to-cart[^>]*\bhidden\b/, 'the add-to-cart form is shown before the script runs');
    assert.match(page.body, /<noscript>[^<]*<p>[^<]*cart[^<]*need JavaScript/);
    for (const url of ['/cart', '/orders/1', '/guest-orders/1.abc']) {
      const reply = await t.app.inject({ url });
      assert.equal(reply.statusCode, 200);
      assert.match(reply.body, /<p hidden data-needs-js>Loading/, `${url}: "Loading…" is shown without the script`);
      assert.match(reply.body, /<noscript>[\s\S]*?need[s]? JavaScript[\s\S]*?<\/noscript>/, `${url}: no <noscript>`);
    }
  });
});

describe('storefront: addresses a shopper mistypes or truncates', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  // A product link cut short or mangled (in a chat, a printed flyer) answered the API's JSON validation error, which
  // a browser shows as a line of raw JSON with no way back to the shop.
  it('answers a page, not JSON: 404 for an address naming no product, order or sale, 400 for a query it cannot read', async () => {
    const cases: [string, number, RegExp][] = [
      ['/products/abc', 404, /This product does not exist\./],
      ['/products/99999999999999999999', 404, /This product does not exist\./],
      ['/products/0', 404, /This product does not exist\./],
      ['/orders/abc', 404, /This order does not exist\./],
      ['/sale/abc/queue', 404, /This sale has no waiting room/],
      ['/guest-orders/abc', 404, /This order link is not valid/],
      [`/?q=${'x'.repeat(1000)}`, 400, /A search is at most 100 characters/],
      ['/?q=a&q=b', 400, /The shop could not read this address/],
      ['/sale/1/queue?product=abc', 400, /The shop could not read this address/],
    ];
    for (const [url, status, text] of cases) {
      const reply = await t.app.inject({ url });
      assert.equal(reply.statusCode, status, `${url.slice(0, 40)}: ${reply.statusCode} ${reply.body.slice(0, 120)}`);
      assert.match(String(reply.headers['content-type']), /^text\/html/, `${url.slice(0, 40)}: ${reply.headers['content-type']} ${reply.body.slice(0, 120)}`);
      assert.match(reply.body, text, url.slice(0, 40));
      assert.match(reply.body, /<a href="\/">Back to the shop<\/a>/);
    }
    // The API keeps its JSON errors.
    const api = await t.app.inject({ url: '/api/v1/products/abc' });
    assert.equal(api.statusCode, 400);
    assert.equal(api.json().error.code, 'VALIDATION_FAILED');
  });

  it('checks a search as searched for: trimmed before its 100-character limit', async () => {
    const padded = await t.app.inject({ url: `/?q=${encodeURIComponent(`${' '.repeat(60)}mug${' '.repeat(60)}`)}` });
    assert.equal(padded.statusCode, 200, `a short search pasted with blanks around it: ${padded.body.slice(0, 200)}`);
    assert.equal((await t.app.inject({ url: `/?q=${'x'.repeat(101)}` })).statusCode, 400);
  });

  // A dead link (`/no-such-page`, a product address with a segment too many) answered the API's JSON 404, which a
  // browser shows as raw JSON with no way back to the shop.
  it('answers a browser the shop\'s 404 page for a path no route serves, and keeps the JSON 404 for the API and other clients', async () => {
    const browser = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
    const page = await t.app.inject({ url: '/' });
    for (const url of ['/no-such-page', '/products/does-not-exist-at-all/extra', '/no-such-page?utm_source=mail']) {
      const reply = await t.app.inject({ url, headers: browser });
      assert.equal(reply.statusCode, 404, `${url}: ${reply.body.slice(0, 120)}`);
      assert.match(String(reply.headers['content-type']), /^text\/html/, `${url}: ${reply.headers['content-type']} ${reply.body.slice(0, 120)}`);
      assert.match(reply.body, /<h1>Not found<\/h1>/, url);
      assert.match(reply.body, /<a href="\/">Back to the shop<\/a>/, url);
      for (const header of ['content-security-policy', 'x-frame-options', 'x-content-type-options', 'cross-origin-resource-policy', 'referrer-policy', 'cache-control']) {
        assert.equal(reply.headers[header], page.headers[header], `${url}: ${header}`);
      }
    }
    const head = await t.app.inject({ method: 'HEAD', url: '/no-such-page', headers: browser });
    assert.equal(head.statusCode, 404);
    assert.match(String(head.headers['content-type']), /^text\/html/);
    assert.equal(head.body, '');
    assert.equal(head.headers['x-frame-options'], page.headers['x-frame-options']);
    // Not a browser, or a path of the API, the docs, the dashboard, metrics or probes: the JSON 404 and its code.
    const json: [string, Record<string, string>][] = [
      ['/no-such-page', {}],
      ['/no-such-page', { accept: 'application/json' }],
      ['/api/v1/nothing-here', browser],
      ['/api/nothing-here', browser],
      ['/docs/static/no-such-file.js', browser],
      ['/admin/queues/api/no-such-thing', { ...browser, ...t.admin }],
      ['/metrics/extra', browser],
      ['/health/extra', browser],
      ['/ready/extra', browser],
    ];
    for (const [url, headers] of json) {
      const reply = await t.app.inject({ url, headers });
      assert.equal(reply.statusCode, 404, `${url} ${JSON.stringify(headers)}: ${reply.body.slice(0, 120)}`);
      assert.match(String(reply.headers['content-type']), /^application\/json/, `${url} ${JSON.stringify(headers)}`);
      assert.equal(reply.json().error.code, 'ROUTE_NOT_FOUND', url);
    }
  });

  // Accept names HTML only to refuse it (q=0) or to rank it below JSON: such a client (an API client, a fetch that
  // reads JSON) asked for JSON, and got the shop's HTML page, which it cannot parse.
  it('keeps the JSON 404 for a client that refuses HTML (q=0) or prefers JSON to it', async () => {
    for (const accept of ['text/html;q=0, application/json', 'application/json, text/html;q=0', 'text/html;q=0.1, application/json']) {
      const reply = await t.app.inject({ url: '/no-such-page', headers: { accept } });
      assert.equal(reply.statusCode, 404, accept);
      assert.match(String(reply.headers['content-type']), /^application\/json/, `${accept}: ${reply.headers['content-type']}`);
      assert.equal(reply.json().error.code, 'ROUTE_NOT_FOUND', accept);
    }
  });

  // Routes match case-sensitively, so `/API/v1/x` is served by none and reaches the not-found handler: it is still a path
  // of the API (and `/Docs/…`, `/METRICS/…` of the docs, metrics), whose clients read the JSON 404, not the shop's page.
  it('keeps the JSON 404 for the excluded prefixes whatever their case', async () => {
    const browser = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
    for (const url of ['/API/v1/nothing-here', '/Api/nothing-here', '/DOCS/static/no-such-file.js', '/Metrics/extra', '/HEALTH/extra', '/Ready/extra']) {
      const reply = await t.app.inject({ url, headers: browser });
      assert.equal(reply.statusCode, 404, url);
      assert.match(String(reply.headers['content-type']), /^application\/json/, `${url}: ${reply.headers['content-type']}`);
      assert.equal(reply.json().error.code, 'ROUTE_NOT_FOUND', url);
    }
  });

  // The catalog page reads `cursor`; one that is not a cursor of ours (a link cut short, edited) is refused by the API
  // (400 INVALID_CURSOR), and the page answers the shop's 400 page, not 200 "No products found" as if the shop were empty.
  it('answers a catalog page whose cursor it cannot read with the 400 page, not an empty shop', async () => {
    for (let i = 1; i <= 3; i++) {
      const reply = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: `CUR-${i}`, name: `Cursor ${i}`, priceCents: 100, available: 1 } });
      assert.equal(reply.statusCode, 201, reply.body);
    }
    assert.equal((await t.app.inject({ url: '/api/v1/products?cursor=not-a-cursor' })).statusCode, 400);
    const page = await t.app.inject({ url: '/?cursor=not-a-cursor' });
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.equal(page.statusCode, 400, `the page answered ${page.statusCode}: ${page.body.match(/<h1[^>]*>[^<]*<\/h1>\s*<p>[^<]*/)?.[0]}`);
  });

  // A link to a category that does not exist (a slug mistyped, a category renamed or deleted since the link was shared)
  // names nothing the shop has: like /products/<id that does not exist>, it is the 404 page, not a 200 "No products
  // found" that tells the shopper (and a search engine) the category exists and is empty.
  it('answers a catalog page for a category slug that does not exist with the 404 page, and an empty existing one with 200', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/admin/categories', headers: t.admin, payload: { slug: 'empty-shelf', name: 'Empty shelf' } });
    assert.equal(created.statusCode, 201, created.body);
    const empty = await t.app.inject({ url: '/?category=empty-shelf' });
    assert.equal(empty.statusCode, 200, empty.body.slice(0, 200));
    assert.match(empty.body, /No products found/);

    const unknown = await t.app.inject({ url: '/?category=no-such-shelf' });
    assert.match(String(unknown.headers['content-type']), /^text\/html/);
    assert.equal(unknown.statusCode, 404, `the page answered ${unknown.statusCode}: ${unknown.body.match(/<h1[^>]*>[^<]*<\/h1>\s*<p>[^<]*/)?.[0]}`);
  });
});

describe('storefront: a campaign link whose tracking parameter holds a stray %', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  // README: pages "ignore any other" parameter than those they read, since shoppers arrive through links carrying
  // what campaigns append, and "what they refuse is answered with a page of the shop, not JSON". A campaign tool that
  // writes a literal % ("50%off") or a Latin-1 escape ("caf%E9") into utm_campaign must not turn the page into JSON.
  it('opens the page, ignoring the parameter, as it did before the query string was checked for malformed escapes', async () => {
    for (const url of ['/?utm_campaign=50%off', '/cart?utm_content=caf%E9', '/account?gclid=abc%']) {
      const reply = await t.app.inject({ url });
      assert.match(String(reply.headers['content-type']), /^text\/html/, `${url} was answered ${reply.statusCode} ${reply.headers['content-type']}: ${reply.body.slice(0, 160)}`);
      assert.equal(reply.statusCode, 200, `${url}: ${reply.body.slice(0, 160)}`);
    }
  });

  it('answers a malformed escape in a parameter the page reads with the shop 400 page, and the API with 400 BAD_URL', async () => {
    for (const url of ['/?q=%E0%A4%A', '/?utm_source=x&category=%ZZ', '/account?next=/%C3']) {
      const reply = await t.app.inject({ url });
      assert.equal(reply.statusCode, 400, `${url}: ${reply.body.slice(0, 160)}`);
      assert.match(String(reply.headers['content-type']), /^text\/html/, url);
    }
    const api = await t.app.inject({ url: '/api/v1/products?utm_campaign=50%off' });
    assert.equal(api.statusCode, 400, api.body);
    assert.equal(api.json().error.code, 'BAD_URL');
  });
});

describe('storefront: the product page\'s quantity field', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  // The field said max="10" for every product: a shopper buying screws by the hundred could not type 20, though a
  // cart line takes up to MAX_LINE_QUANTITY units, and one capped at 2 per customer let them type 10 and be refused.
  it('allows up to what a cart line takes, or the product\'s per-customer cap when it is lower', async () => {
    const create = async (name: string, extra: object) => {
      const reply = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: `qty-max-${name}-${Date.now()}`, name, priceCents: 10, available: 5_000, ...extra } });
      assert.equal(reply.statusCode, 201, reply.body);
      return reply.json().id as number;
    };
    const maxOf = async (id: number) => {
      const page = await t.app.inject({ url: `/products/${id}` });
      assert.equal(page.statusCode, 200);
      const input = /<input id="quantity"[^>]*>/.exec(page.body)?.[0] ?? '';
      return Number(/\bmax="(\d+)"/.exec(input)?.[1]);
    };
    assert.equal(await maxOf(await create('screws', {})), MAX_LINE_QUANTITY, 'no cap: what a cart line takes');
    assert.equal(await maxOf(await create('capped', { maxPerCustomer: 2 })), 2, 'the per-customer cap');
    assert.equal(await maxOf(await create('loose-cap', { maxPerCustomer: 5_000 })), MAX_LINE_QUANTITY, 'a cap above a line\'s maximum');
  });
});
