// Salescale storefront: a little progressive enhancement over server-rendered pages. No framework.

(() => {
  const body = document.body;
  const page = body.dataset.page;
  // What only works through this script is rendered hidden (with a <noscript> saying so): until the script runs, on a
  // slow network or with JavaScript off, there is no form whose plain submission would do nothing, or worse, put
  // its fields (a password) in the address, the history and the request log.
  for (const el of document.querySelectorAll('[data-needs-js]')) el.hidden = false;
  const api = (path, options = {}) =>
    fetch(`/api/v1${path}`, {
      credentials: 'same-origin',
      ...options,
      headers: { ...(options.body ? { 'content-type': 'application/json' } : {}), ...(options.headers || {}) },
    }).then(async (response) => {
      fromShopDate(response.headers.get('date'));
      const text = await response.text();
      let data;
      try {
        data = text ? JSON.parse(text) : undefined;
      } catch {
        data = text;
      }
      return {
        status: response.status,
        data,
        retryAfter: Number(response.headers.get('retry-after')) || undefined,
        // The shop's clock at the reply, in whole seconds (HTTP's Date): where a reply carries no `now` of its own.
        date: Date.parse(response.headers.get('date') ?? '') || undefined,
      };
    });
  // The shop's clock minus this browser's. Sales open and end, and passes expire, on the room's clock (Redis's, not
  // any web instance's, whose own may be off too): the waiting room's replies carry it (`now`, ms), and a browser clock
  // minutes off would otherwise show every countdown minutes off. A reply's `now` is read at the middle of its round
  // trip; a stream frame's, on arrival.
  // What the shop keeps for the whole browser, all its tabs (localStorage): the waiting-room passes and the clock they
  // expire on. An admission is the browser's, as Queue-it's and Cloudflare's cookie is: a product or the cart opened in
  // a new tab (no copy of the tab's sessionStorage) buys with it too. The server stays the judge: a pass is signed, for
  // its holders (the visitor cookie, the account), expires, and buys one order whoever presents copies of it.
  // Where the browser refuses localStorage (storage turned off, a full quota, some private modes), the tab's
  // sessionStorage, else the page's memory.
  const browserStore = (() => {
    const memory = new Map();
    let store;
    for (const name of ['localStorage', 'sessionStorage']) {
      try {
        const candidate = window[name];
        candidate.setItem('salescale-probe', '1');
        candidate.removeItem('salescale-probe');
        store = candidate;
        break;
      } catch {
        // Refused: the next one.
      }
    }
    return {
      get(key) {
        try {
          const value = store?.getItem(key);
          if (value !== null && value !== undefined) return value;
        } catch {
          // Read below.
        }
        return memory.get(key) ?? null;
      },
      set(key, value) {
        memory.set(key, value);
        try {
          store?.setItem(key, value);
        } catch {
          // Kept in memory for this page.
        }
      },
      remove(key) {
        memory.delete(key);
        try {
          store?.removeItem(key);
        } catch {
          // Nothing more to do.
        }
      },
      keys() {
        const keys = new Set(memory.keys());
        try {
          for (let i = 0; i < (store?.length ?? 0); i++) {
            const key = store.key(i);
            if (key !== null) keys.add(key);
          }
        } catch {
          // The memory's keys only.
        }
        return [...keys];
      },
    };
  })();
  // Kept for the browser (see `browserStore`), so its other pages and tabs (the product page, the cart, opened in a new
  // tab) check the passes on the same clock. Read at each use, not once at load: a tab opened under an old correction
  // judges the passes on the latest one a waiting-room tab stored since.
  const SKEW_KEY = 'salescale-skew-ms';
  const learnSkew = (roomNow, sentAt = Date.now()) => {
    if (typeof roomNow !== 'number') return;
    browserStore.set(SKEW_KEY, String(Math.round(roomNow - (sentAt + Date.now()) / 2)));
  };
  const storedSkew = () => Number(browserStore.get(SKEW_KEY)) || 0;
  const shopNow = () => Date.now() + storedSkew();
  /**
   * Keeps the correction fresh from every reply of the shop (its HTTP `Date`, whole seconds): a correction learned
   * while this device's clock was off, and kept after the clock was set right, is replaced at the next reply. Within
   * 2 s it is kept: the waiting room's (`now`, ms) is finer than a `Date` can tell.
   */
  function fromShopDate(header) {
    const date = Date.parse(header ?? '');
    if (!Number.isFinite(date)) return;
    // The reply was dated somewhere within that second: its middle.
    const skew = date + 500 - Date.now();
    if (Math.abs(skew - storedSkew()) > 2000) browserStore.set(SKEW_KEY, String(Math.round(skew / 1000) * 1000));
  }
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  /**
   * Seconds to wait before asking again after a refusal that says "later" (503, or 429 RATE_LIMITED) or a network
   * error: the reply's Retry-After if it has one, else 1, 2, 4 … 30 s; at most 60 s. The caller adds up to a
   * second at random, so a crowd refused at once does not come back at once.
   */
  const backoff = (reply, attempt) => Math.min(60, reply?.retryAfter ?? Math.min(30, 2 ** attempt));
  const retriable = (reply) => !reply || reply.status >= 500 || (reply.status === 429 && reply.data?.error?.code === 'RATE_LIMITED');
  /**
   * `ask()` again while the shop answers "later" (see `retriable`), after each such answer's `backoff` and up to a
   * second at random; `onWait(reply, seconds)` is told of each wait (`reply` undefined: no connection), to say so.
   * Answers the first other reply, or after `attempts` tries the last one (undefined if the network failed).
   */
  const askUntilAnswered = async (ask, onWait, attempts = Number.POSITIVE_INFINITY) => {
    for (let attempt = 0; ; attempt++) {
      const reply = await ask().catch(() => undefined);
      if (!retriable(reply) || attempt + 1 >= attempts) return reply;
      const wait = backoff(reply, attempt);
      onWait(reply, wait);
      await sleep(wait * 1000 + Math.random() * 1000);
    }
  };
  const $ = (selector, root = document) => root.querySelector(selector);
  /**
   * The shopper's words for a refusal of the API. Its `message` is written for developers (product ids, field paths
   * such as "/items/0/quantity", limits named as the code names them) and is never shown: each code a shopper can meet
   * is worded here from its `details`, and any other answer is the caller's `fallback`, already in a shopper's words.
   * `nameOf(productId)` names a product (the page's own, or a cart line's); `max` is the quantity field's maximum.
   */
  const shopperMessage = (reply, { fallback, nameOf = () => 'this product', max } = {}) => {
    const error = reply?.data?.error ?? {};
    const d = error.details ?? {};
    const named = (productId) => nameOf(productId) || 'this product';
    const later = (seconds) => (seconds > 0 ? `in ${duration(seconds)}` : 'in a moment');
    const wait = reply?.retryAfter ?? d.retryAfterSeconds;
    switch (error.code) {
      case 'OUT_OF_STOCK': {
        const short = d.shortages?.[0] ?? d;
        const left = short.available;
        // A refusal without its details (a proxy's rewrite) does not say the product sold out.
        if (typeof left !== 'number') return `There is not enough of ${named(short.productId)} left.`;
        return left > 0 ? `Only ${left} of ${named(short.productId)} left: lower the quantity.` : `Sorry, ${named(short.productId)} is sold out.`;
      }
      case 'PURCHASE_LIMIT_EXCEEDED':
        return `${named(d.productId)} is limited to ${d.limit} per customer${d.saleEventId ? ' in this sale' : ''}${d.alreadyPurchased ? ` (you have ${d.alreadyPurchased} already)` : ''}: lower the quantity.`;
      case 'LINE_QUANTITY_TOO_LARGE':
        return `You can order at most ${d.maxQuantity} of one product at a time: lower the quantity.`;
      case 'CART_FULL':
        return `Your cart holds as many different products as it can${d.maxLines ? ` (${d.maxLines})` : ''}: remove one to add another.`;
      case 'TOO_MANY_ORDER_LINES':
        return `An order holds at most ${d.maxLines} different products: remove some from your cart and order them afterwards.`;
      case 'PRODUCT_NOT_FOUND':
      case 'UNKNOWN_PRODUCT':
      case 'PRODUCT_UNAVAILABLE': {
        const gone = d.products ?? [d];
        return `No longer for sale: ${gone.map((p) => named(p.productId ?? p.id)).join(', ')}.`;
      }
      case 'MIXED_CURRENCIES':
        return `${named(d.productId)} is priced in another currency than your cart: order it separately.`;
      case 'CART_BUSY':
        return 'Your cart was being changed elsewhere at the same moment, so nothing was changed: try again.';
      case 'EMPTY_CART':
        return 'Your cart is empty.';
      case 'ORDER_NOT_CANCELLABLE':
        return (
          {
            paid: 'This order is paid, so it can no longer be cancelled: contact us for a refund.',
            fulfilled: 'This order has been sent, so it can no longer be cancelled.',
            expired: 'This order expired unpaid: there is nothing to cancel.',
            refunded: 'This order has been refunded already.',
          }[d.status] ?? 'This order can no longer be cancelled.'
        );
      case 'CANCEL_WINDOW_CLOSED':
        return 'This order can no longer be cancelled here: contact us.';
      case 'ORDER_EXPIRED':
        return 'This order expired unpaid and its units went back on sale: place a new order to buy them.';
      case 'ORDER_ALREADY_PAID':
        return 'This order is paid already: reload the page to see it.';
      case 'ORDER_NOT_PAYABLE':
        // A guest order its buyer's other orders (paid, or placed signed in) leave no room for under a cap: it waits
        // unpayable until it expires, so say why and what frees its units at once.
        if (d.reason === 'PURCHASE_LIMIT') {
          return `You already have the most of ${named(d.productId)} ${d.saleEventId ? 'this sale allows' : 'one customer may buy'} (${d.limit}): this order cannot be paid. Cancel it to release its units.`;
        }
        return 'This order cannot be paid any more.';
      case 'PAYMENT_DECLINED':
        return 'Your card was declined and nothing was charged. You can try again while the order is reserved.';
      case 'PAYMENT_AMOUNT_UNSUPPORTED':
      case 'PAYMENT_CURRENCY_UNSUPPORTED':
        return 'This order cannot be paid online: contact us.';
      case 'ORDER_NOT_FOUND':
        return 'This order could not be found: the link may have expired.';
      case 'RATE_LIMITED':
      case 'LOGIN_RATE_LIMITED':
        return `Too many attempts from your connection. Try again ${later(wait)}.`;
      case 'SIGNUP_RATE_LIMITED':
        return 'Too many accounts were registered from your network: try again later, or check out as a guest.';
      case 'INVALID_CREDENTIALS':
        return 'The email or the password is wrong.';
      case 'EMAIL_TAKEN':
        return 'An account with this email already exists: sign in instead.';
      case 'PASSWORD_TOO_COMMON':
        return (
          {
            common: 'This password is one of the most common ones: choose another.',
            context: 'This password is mostly the shop’s name, your email or your name: choose another.',
            repetitive: 'This password is one character repeated: choose another.',
          }[d.reason] ?? 'This password is too easy to guess: choose another.'
        );
      case 'NOT_SIGNED_IN':
        return 'Sign in first.';
      case 'SALE_ENDED':
        return 'This sale has ended.';
      case 'WAITING_ROOM_NOT_OPEN':
        return Date.parse(d.opensAt) ? `The line opens at ${new Date(d.opensAt).toLocaleString()}.` : 'The line is not open yet.';
      case 'WAITING_ROOM_NOT_FOUND':
        return 'This sale has no waiting room.';
      case 'TICKET_LIMIT_REACHED':
        return 'Other visitors on your network already hold its places in this line.';
      case 'VALIDATION_FAILED': {
        const paths = (d.issues ?? []).map((issue) => String(issue.path ?? ''));
        if (paths.some((path) => /quantity$/.test(path))) return max ? `Enter a quantity from 1 to ${max}.` : 'Enter a whole number of units, 1 or more.';
        if (paths.some((path) => /email$/.test(path))) return 'Enter a valid email address, such as name@example.com.';
        if (paths.some((path) => /password$/.test(path))) {
          const least = /fewer than (\d+)/.exec((d.issues ?? []).find((issue) => /password$/.test(issue.path ?? ''))?.message ?? '')?.[1];
          return least ? `Choose a password of at least ${least} characters.` : 'Choose another password.';
        }
        if (paths.some((path) => /name$/.test(path))) return 'Enter your name.';
        return fallback;
      }
    }
    // Busy or unavailable for a while (503: overloaded, checkout, sign-in, payments or the waiting room; 502 from the
    // payment provider): nothing the shopper did.
    if (reply && reply.status >= 500) return `The shop could not do that right now. Try again ${later(reply.retryAfter)}.`;
    return fallback;
  };
  const say = (text) => {
    const el = $('[data-message]');
    if (el) el.textContent = text;
  };
  // Amounts are in the currency's minor unit: a hundredth mostly, a whole yen (JPY), a thousandth of a dinar (KWD).
  const money = (cents, currency) => {
    const format = new Intl.NumberFormat('en', { style: 'currency', currency });
    return format.format(cents / 10 ** format.resolvedOptions().maximumFractionDigits);
  };
  const duration = (seconds) => {
    const s = Math.max(0, Math.round(seconds));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const r = s % 60;
    return h > 0 ? `${h} h ${m} min` : m > 0 ? `${m} min ${r} s` : `${r} s`;
  };

  // Waiting-room passes, per sale event, for the browser (`browserStore`, so every tab of the shop holds them): sent
  // with checkout while valid. Expired ones are removed as they are met.
  const passes = {
    prefix: 'salescale-pass-',
    key(saleId) {
      return `${this.prefix}${saleId}`;
    },
    // How long past its expiry a pass is kept before any tab deletes it: a tab's correction may be off, and the pass is
    // every tab's. Merely expired (on the shop's clock as this tab knows it), it is skipped, not deleted; it is deleted
    // only once past its expiry by this long on both the corrected clock and the device's own, so a wrong correction
    // alone (one learned while the device clock was off) never deletes a pass the shop still takes.
    graceMs: 60_000,
    get(saleId) {
      let value;
      try {
        value = JSON.parse(browserStore.get(this.key(saleId)) || 'null');
      } catch {
        value = undefined;
      }
      // On the shop's clock, as the room expires it (and the waiting-room page counts it down).
      const expiresAt = Date.parse(value?.expiresAt);
      const well = value && typeof value.pass === 'string' && Number.isFinite(expiresAt);
      if (well && expiresAt > shopNow()) return value;
      const longPast = (now) => expiresAt + this.graceMs <= now;
      if (value !== null && (!well || (longPast(shopNow()) && longPast(Date.now())))) browserStore.remove(this.key(saleId));
      return undefined;
    },
    set(saleId, pass, expiresAt) {
      browserStore.set(this.key(saleId), JSON.stringify({ pass, expiresAt }));
    },
    all() {
      const out = [];
      for (const key of browserStore.keys()) {
        if (key.startsWith(this.prefix)) {
          const value = this.get(key.slice(this.prefix.length));
          if (value) out.push(value.pass);
        }
      }
      return out;
    },
    // An order placed with passes is told to the shopper's other tabs of the shop (the waiting-room tab of a pass it
    // spent), with the passes it spent: those of the sales its reply names (`passesSpent`, checkout's word), not all
    // those sent (a product listed by two live queued sales spends the pass of one).
    channel: typeof BroadcastChannel === 'function' ? new BroadcastChannel('salescale-passes') : undefined,
    ordered(saleIds) {
      const spent = (saleIds ?? []).map((saleId) => this.get(saleId)?.pass).filter(Boolean);
      if (spent.length > 0) this.channel?.postMessage({ kind: 'ordered', passes: spent });
    },
  };

  // The browser's expired passes go at every page of the shop (they outlive the tab now, not the pass).
  passes.all();

  // Sale countdowns.
  const countdowns = [...document.querySelectorAll('[data-countdown-start]')];
  const tick = () => {
    const now = shopNow();
    for (const el of countdowns) {
      const start = Date.parse(el.dataset.countdownStart);
      const end = Date.parse(el.dataset.countdownEnd);
      const span = $('.countdown', el);
      span.textContent = now < start ? `starts in ${duration((start - now) / 1000)}` : now < end ? `live now, ends in ${duration((end - now) / 1000)}` : 'has ended';
    }
  };
  // A hidden tab's timers are throttled (in Chrome to once a minute after a while): shown again, every countdown is
  // counted at once rather than at the next timer. The waiting room's pass countdown listens too.
  const onShown = (recount) =>
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') recount();
    });
  if (countdowns.length > 0) {
    tick();
    setInterval(tick, 1000);
    onShown(tick);
  }

  if (page === 'product') {
    const productId = body.dataset.product;
    const saleId = body.dataset.queuedSale;
    const productName = $('h1')?.textContent || 'this product';
    const maxQuantity = Number($('#quantity')?.max) || undefined;
    const available = $('[data-available]');
    // The count changes at every poll while a sale sells: shown, not read out (a screen reader would speak nothing
    // else). Selling out, and coming back, are read out (a polite status of their own).
    const news = $('[data-stock-news]');
    let inStock = !/^Sold out$/.test(available.textContent);
    // Live stock, every 2 s while the tab is seen. Each poll counts against the shopper's rate limits (and, for
    // guests, those of everyone behind their address): so none while the tab is hidden, and after a 429 or a 5xx
    // none before its Retry-After (else 1, 2, 4 … 30 s), or the poll would keep the limit spent and refuse the
    // shopper's add-to-cart and checkout.
    let failures = 0;
    const refresh = async () => {
      let wait = 2;
      if (document.visibilityState !== 'hidden') {
        const reply = await api(`/products/${productId}`).catch(() => undefined);
        if (reply?.status === 200) {
          failures = 0;
          available.textContent = reply.data.available > 0 ? `${reply.data.available} in stock` : 'Sold out';
          if (inStock !== reply.data.available > 0) {
            inStock = reply.data.available > 0;
            news.textContent = inStock ? `Back in stock: ${reply.data.available} available.` : 'Sold out.';
          }
        } else if (retriable(reply) || reply.status === 429) {
          wait = Math.max(wait, backoff(reply, failures++));
        }
      }
      setTimeout(refresh, wait * 1000);
    };
    setTimeout(refresh, 2000);
    const form = $('[data-add-to-cart]');
    if (saleId) {
      const note = $('[data-pass-status]');
      const showPass = () => {
        const pass = passes.get(saleId);
        if (pass) {
          note.hidden = false;
          note.textContent = `You have been admitted: your pass is valid until ${new Date(pass.expiresAt).toLocaleTimeString()}.`;
          $('[data-join]').hidden = true;
          form.hidden = false;
        } else {
          // No pass (or no longer: removed at a sign-out in another tab, or expired): the waiting room's offer again.
          note.hidden = true;
          note.textContent = '';
          $('[data-join]').hidden = false;
          form.hidden = true;
        }
      };
      showPass();
      // Admitted in another tab (the waiting room's): this one offers "Add to cart" without a reload; the pass removed
      // there (a sign-out; `key` null: the whole storage cleared), it offers the waiting room again.
      window.addEventListener('storage', (event) => {
        if (event.key === passes.key(saleId) || event.key === null) showPass();
      });
    }
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const typed = Number(new FormData(form).get('quantity'));
      // "Add to cart" adds to what the cart holds, in one step on the server (POST /cart/items): two tabs adding at
      // once both count (the cart page's quantity field sets the line, PUT). Past the stock, the product's cap or a
      // line's maximum, the API refuses the sum and the line stays as it was: the shopper is told what it holds.
      // An add is not idempotent: the button is off while one runs, so a double click adds once.
      const button = form.querySelector('button[type=submit]');
      if (button.disabled) return;
      button.disabled = true;
      say('');
      let reply;
      try {
        reply = await api('/cart/items', { method: 'POST', body: JSON.stringify({ productId: Number(productId), quantity: typed }) });
      } catch {
        // No answer (the network failed): the add may have been made, so clicking again blindly could add twice.
        say('Could not reach the shop, so the add may or may not have been made: check your cart before adding again.');
        return;
      } finally {
        button.disabled = false;
      }
      const { status, data } = reply;
      // A refusal for want of stock or past the product's cap (409 OUT_OF_STOCK, PURCHASE_LIMIT_EXCEEDED) names the sum
      // asked for: what the cart held is that less the units typed.
      const requested = data?.error?.details?.requested;
      const held = status === 409 && typeof requested === 'number' ? requested - typed : 0;
      if (status === 401) {
        location.href = `/account?next=${encodeURIComponent(location.pathname)}`;
        return;
      }
      if (status === 200) {
        const message = $('[data-message]');
        const total = data?.items?.find((item) => item.productId === Number(productId))?.quantity ?? typed;
        message.textContent = `Added: ${total} in your cart. `;
        const link = document.createElement('a');
        link.href = '/cart';
        link.textContent = 'Go to the cart';
        message.append(link);
        link.focus();
      } else if (status === 404 && data?.error?.code === 'PRODUCT_NOT_FOUND') {
        // The page was open while the shop took the product off sale (archived or deleted): the API says it
        // does not exist, which reads as a broken page.
        say('This product is no longer for sale.');
      } else if (status === 422 && data?.error?.code === 'LINE_QUANTITY_TOO_LARGE') {
        // The sum would pass a line's maximum: the API names it, the sum and what the line holds (kept as it is).
        const { held, maxQuantity } = data.error.details ?? {};
        say(`Not added: a cart line holds at most ${maxQuantity} units and your cart already holds ${held} of this product.`);
      } else if (status === 409 && data?.error?.code === 'OUT_OF_STOCK') {
        // The API's message names the product by its id: the shopper is on its page, so the page says it in words, with
        // what the cart held and the units left.
        const left = data.error.details?.available;
        // A refusal without its details (a proxy's rewrite) does not say the product sold out.
        if (typeof left !== 'number') {
          say('Not added: there is not enough of this product left.');
        } else if (left > 0) {
          const more = left - held > 0 ? `you can add ${left - held} more` : 'none more can be added';
          say(`Not added: only ${left} left${held > 0 ? `, and your cart already holds ${held} of this product: ${more}` : ''}.`);
        } else {
          say('Sorry, this product is sold out: nothing was added.');
        }
      } else {
        const message = shopperMessage(reply, { fallback: 'Could not add to the cart: try again, or reload the page.', nameOf: () => productName, max: maxQuantity });
        say(`Not added: ${message}${held > 0 ? ` Your cart already holds ${held} of this product.` : ''}`);
      }
    });
  }

  if (page === 'waiting-room') {
    const saleId = body.dataset.sale;
    const state = $('[data-state]');
    const position = $('[data-position]');
    const eta = $('[data-eta]');
    const progress = $('[data-progress]');
    let first;
    // The place and the wait change at every update of the stream (twice a second at a sale's peak): shown as they
    // come, but read out (a polite live region) when first known and then at most every 30 s, or a screen reader
    // would speak nothing else. A change of state (admitted, sold out, …) is read out at once, by [data-state].
    const announcer = $('[data-announce]');
    const ANNOUNCE_EVERY_MS = 30_000;
    let announcedAt = 0;
    let announcedPosition = null;
    const announce = (s) => {
      if (s.state !== 'waiting' || s.position === null || s.position === announcedPosition || Date.now() - announcedAt < ANNOUNCE_EVERY_MS) return;
      announcedAt = Date.now();
      announcedPosition = s.position;
      announcer.textContent = `Your place in line: ${s.position}.${s.etaSeconds === null ? '' : ` Estimated wait: ${duration(s.etaSeconds)}.`}`;
    };
    // The sale's end as the room last said it (an early end or an extension moves it): the countdowns count to it.
    let saleEndsMs = Date.parse(countdowns[0]?.dataset.countdownEnd ?? '') || Number.POSITIVE_INFINITY;
    const moveEnd = (iso) => {
      const at = Date.parse(iso ?? '');
      if (!at || at === saleEndsMs) return;
      saleEndsMs = at;
      for (const el of countdowns) el.dataset.countdownEnd = iso;
      tick();
    };
    // The admitted page: the ticket's stream stays open until the pass expires or the line closes, and brings what
    // changes meanwhile (a sell-out, units back, a moved end, the room's end): no polling. The page counts the pass
    // down on the room's clock; at zero it says so and waits for the stream's word (`expired`, on the room's clock).
    let watching;
    const passLeft = $('[data-pass-left]');
    const joinAgain = $('[data-join-again]');
    const stopWatching = () => {
      if (!watching) return;
      clearTimeout(watching.timer);
      watching = undefined;
      passLeft.textContent = '';
    };
    const watchPass = (s) => {
      if (watching) return;
      const expiresAt = Date.parse(s.passExpiresAt);
      const w = { timer: undefined, count: undefined };
      watching = w;
      const count = () => {
        clearTimeout(w.timer);
        const left = expiresAt - shopNow();
        // Shown, not read out: the admitted state was read out once, with the pass's length.
        passLeft.textContent = left <= 0 ? 'Your pass is expiring…' : `Your pass is valid for ${duration(Math.ceil(left / 1000))} more.`;
        if (left > 0) w.timer = setTimeout(count, Math.min(1000, left));
      };
      w.count = count;
      count();
    };
    onShown(() => watching?.count());
    const show = (s) => {
      if (s.position !== null && first === undefined) first = s.position;
      position.textContent = s.position === null ? (s.state === 'waiting' ? 'decided at the start' : '–') : String(s.position);
      eta.textContent = s.paused ? 'paused' : s.etaSeconds === null ? '–' : duration(s.etaSeconds);
      if (first && s.position !== null) progress.value = Math.round((100 * (first - s.position + 1)) / first);
      const texts = {
        waiting: s.paused
          ? 'The line is paused: the shop is holding admission for a moment. You keep your place, and the line moves again, in order, as soon as it resumes.'
          : s.position === null
            ? 'You are in the pre-queue: places are drawn at random when the sale starts.'
            : 'You are in line.',
        admitted: 'It is your turn! Your pass is valid for a limited time.',
        // Sold out after admission: the pass stays good until it expires (units may come back), but there is nothing to buy now.
        admitted_sold_out:
          'Sold out: everything in this sale has been taken since you were let in. Stay here: if units come back, your pass still buys until it expires.',
        sold_out: 'Sold out: everything in this sale has been taken. Stay here: if units come back, the line moves again.',
        expired: 'This ticket has expired.',
        closed: 'The line has closed: the sale has ended, or it no longer needs a waiting room.',
        used: 'Your pass has bought your order: a pass buys one. Thank you!',
      };
      const soldOutAdmitted = s.state === 'admitted' && s.soldOut === true;
      const text = texts[soldOutAdmitted ? 'admitted_sold_out' : s.state];
      // Written only when it changes: the same text written again may be read out again.
      if (state.textContent !== text) state.textContent = text;
      // Its own marker: the admitted shopper's pass still buys, which the waiting visitors' `sold_out` does not say.
      body.dataset.state = soldOutAdmitted ? 'admitted_sold_out' : s.state;
      announce(s);
      moveEnd(s.saleEndsAt);
      const admittedLink = $('[data-admitted]');
      // The continue link hidden under the keyboard's focus would drop focus to the page's start: it goes to the
      // status line, which says why.
      const hide = () => {
        if (admittedLink.contains(document.activeElement)) state.focus();
        admittedLink.hidden = true;
      };
      if (s.state === 'admitted') {
        progress.value = 100;
        passes.set(saleId, s.pass, s.passExpiresAt);
        if (soldOutAdmitted) hide();
        else admittedLink.hidden = false;
        watchPass(s);
      } else {
        stopWatching();
        hide();
        // Expired with `canRejoin` (the pass ran out without buying an order): a new join takes a new ticket at the back
        // of the line (the room replaces the place, not adds one). The room says so: a pass that bought its order, or a
        // ticket out of line, would be answered the same expired ticket, and closed has no line to join.
        joinAgain.hidden = !(s.state === 'expired' && s.canRejoin === true);
        if (s.state === 'closed') tick();
      }
    };
    // Joining: the first request of a sale's crowd, so the one most likely to meet an overloaded shop. A refusal
    // that says "later" is retried (the shopper is told so); one that will not change (sale ended, the address's
    // ticket limit) is shown as it is.
    const join = async () => {
      const reply = await askUntilAnswered(
        async () => {
          const sentAt = Date.now();
          const answer = await api(`/sale-events/${saleId}/queue`, { method: 'POST' });
          learnSkew(answer.data?.now, sentAt);
          return answer;
        },
        (refused, wait) => {
          state.textContent = refused
            ? `The shop is very busy right now. Trying again to join the line in ${duration(wait)}…`
            : `No connection to the shop. Trying again to join the line in ${duration(wait)}…`;
        },
      );
      if (reply?.status === 201) return reply.data;
      state.textContent = shopperMessage(reply, { fallback: 'Could not join the line: reload the page to try again.' });
      // Guests behind one address (an office, a carrier's NAT) share its tickets: a signed-in shopper joins on their own.
      if (reply?.data?.error?.code === 'TICKET_LIMIT_REACHED') {
        const link = document.createElement('a');
        link.href = `/account?next=${encodeURIComponent(location.pathname + location.search)}`;
        link.textContent = 'Sign in to join the line';
        state.append(' ', link);
      }
      return undefined;
    };
    // The status stream. EventSource reconnects by itself after a dropped connection, but an HTTP error reply
    // (503 while the shop is overloaded, an instance draining) closes it for good: then it is opened again here,
    // with the same backoff, so the shopper's place keeps updating and admission is not missed.
    let source;
    let stopped = false;
    const follow = (followed, attempt = 0) => {
      if (stopped) return;
      const es = new EventSource(`/api/v1/sale-events/${saleId}/queue/${encodeURIComponent(followed)}/events`);
      source = es;
      let finished = false;
      es.addEventListener('open', () => {
        attempt = 0;
      });
      es.addEventListener('status', (event) => {
        if (stopped) return;
        const s = JSON.parse(event.data);
        learnSkew(s.now);
        // Merged into the shopper's other ticket (a guest ticket and an account ticket, on signing in): the place
        // lives on there, so the page follows that one, never telling the shopper this one expired.
        if (s.state === 'expired' && typeof s.replacedBy === 'string' && s.replacedBy !== followed) {
          finished = true;
          es.close();
          follow(s.replacedBy);
          return;
        }
        show(s);
        // The server ends the stream there (used: the pass bought an order, on any device); admitted, it stays open
        // until the pass expires.
        if (s.state === 'expired' || s.state === 'closed' || s.state === 'used') {
          finished = true;
          es.close();
        }
      });
      es.addEventListener('error', () => {
        if (finished || stopped || es.readyState !== EventSource.CLOSED) return;
        setTimeout(() => follow(followed, attempt + 1), backoff(undefined, attempt) * 1000 + Math.random() * 1000);
      });
    };
    // The pass bought an order (in another tab, or this one): the turn is taken, the page stops. Only if this page's
    // pass is among those the order spent, as checkout's reply named them (see `passes.ordered`).
    passes.channel?.addEventListener('message', (event) => {
      const m = event.data;
      const mine = passes.get(saleId)?.pass;
      if (m?.kind !== 'ordered' || body.dataset.state !== 'admitted' && body.dataset.state !== 'admitted_sold_out') return;
      if (!mine || !m.passes?.includes(mine)) return;
      source?.close();
      stopped = true;
      show({ state: 'used', position: null, etaSeconds: null });
    });
    const enter = async () => {
      const data = await join();
      if (!data) return;
      show(data);
      if (data.state === 'expired' || data.state === 'closed') return;
      follow(data.ticket);
    };
    $('button', joinAgain).addEventListener('click', () => {
      // The button goes away under the keyboard's focus: focus goes to the status line, which says what happens.
      state.focus();
      joinAgain.hidden = true;
      state.textContent = 'Joining the line…';
      first = undefined;
      progress.value = 0;
      void enter();
    });
    void enter();
  }

  if (page === 'account') {
    // Where to go after signing in: a page of this shop only. Read as the browser will read it: it drops tabs and
    // newlines from a URL, so `/\t/evil.example` passes a "one leading slash" check and still means `//evil.example`.
    const next = (() => {
      try {
        const url = new URL(body.dataset.next || '/', location.origin);
        return url.origin === location.origin ? url.pathname + url.search + url.hash : '/';
      } catch {
        return '/';
      }
    })();
    const done = () => {
      location.href = next;
    };
    const signedIn = $('[data-signed-in]');
    const signOut = $('[data-sign-out]');
    api('/me').then(({ status, data }) => {
      if (status === 200) {
        signedIn.hidden = false;
        signedIn.textContent = `Signed in as ${data.name} (${data.email}).`;
        signOut.hidden = false;
      }
    });
    // Signing out (a shared computer): the session ends, and the browser's waiting-room passes go with it, since a pass
    // is also the visitor cookie's and would still buy for the next person. The clock correction stays (it is the
    // shop's, not the shopper's). Refused (503: the session could not be ended), nothing is taken away.
    $('button', signOut).addEventListener('click', async () => {
      const reply = await api('/sessions', { method: 'DELETE' }).catch(() => undefined);
      if (!reply) return say('Could not reach the shop: check your connection and try again.');
      if (reply.status !== 204 && reply.status !== 401) return say(shopperMessage(reply, { fallback: 'Could not sign you out: try again.' }));
      for (const key of browserStore.keys()) if (key.startsWith(passes.prefix)) browserStore.remove(key);
      signedIn.hidden = true;
      signOut.hidden = true;
      say('You have signed out.');
    });
    for (const [selector, path] of [
      ['[data-sign-in]', '/sessions'],
      ['[data-register]', '/customers'],
    ]) {
      const form = $(selector);
      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        const reply = await api(path, { method: 'POST', body: JSON.stringify(Object.fromEntries(new FormData(form))) }).catch(() => undefined);
        if (!reply) return say('Could not reach the shop: check your connection and try again.');
        const { status, data } = reply;
        if (status === 200 || status === 201) done();
        else say(shopperMessage({ status, data }, { fallback: path === '/sessions' ? 'Could not sign you in: try again.' : 'Could not create your account: try again.' }));
      });
    }
  }

  if (page === 'cart') {
    const root = $('[data-cart]');
    // The signed-in customer orders with their account; anyone else checks out as a guest with an email.
    let guest = false;
    // A guest's attempt in flight or of unknown outcome: its key and the email it was placed under, kept together
    // (the key's scope is the email: the same key under another email would be another order).
    const GUEST_ATTEMPT = 'salescale-guest-checkout';
    const guestAttempt = () => {
      try {
        const value = JSON.parse(sessionStorage.getItem(GUEST_ATTEMPT) || 'null');
        return value && typeof value.key === 'string' && typeof value.email === 'string' ? value : undefined;
      } catch {
        return undefined;
      }
    };
    let lines = [];
    // The cart as drawn: its total and currency are what an order is placed at or refused (`expectedTotalCents`).
    let drawn;
    // The most units a cart line takes: the server's constant, given by the page.
    const MAX_LINE_QUANTITY = Number(body.dataset.maxQuantity) || undefined;
    const UNAVAILABLE = {
      archived: 'No longer sold: remove it to order the rest.',
      draft: 'Not on sale right now: remove it to order the rest.',
      deleted: 'No longer in the shop: remove it to order the rest.',
      other_currency: 'Now priced in another currency than your cart: remove it to order the rest.',
    };
    const lineNote = (item) => {
      if (item.purchasable === false) return UNAVAILABLE[item.unavailableReason] || 'Cannot be ordered: remove it to order the rest.';
      if (item.available === 0) return 'Sold out: remove it to order the rest.';
      if (item.available < item.quantity) return `Only ${item.available} left: lower the quantity to order.`;
      return '';
    };
    const nameOf = (productId) => lines.find((item) => item.productId === productId)?.name || `product ${productId}`;
    const render = (cart) => {
      lines = cart.items;
      drawn = cart;
      // The cart is drawn again after each change of a line: what the guest has typed in the email field stays.
      const typed = $('#guest-email', root)?.value;
      root.replaceChildren();
      if (cart.items.length === 0) {
        root.innerHTML = '<p>Your cart is empty. <a href="/">Browse the shop</a>.</p>';
        return;
      }
      const table = document.createElement('table');
      table.innerHTML = '<caption class="visually-hidden">Items in your cart</caption><thead><tr><th scope="col">Product</th><th scope="col">Price</th><th scope="col">Quantity</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>';
      const tbody = document.createElement('tbody');
      for (const item of cart.items) {
        const row = document.createElement('tr');
        row.innerHTML = `<td><a></a></td><td>${money(item.priceCents, item.currency)}</td><td><label class="visually-hidden" for="qty-${item.productId}">Quantity</label><input id="qty-${item.productId}" type="number" min="1"${MAX_LINE_QUANTITY ? ` max="${MAX_LINE_QUANTITY}"` : ''} value="${item.quantity}"></td><td><button type="button">Remove</button></td>`;
        const link = row.querySelector('a');
        link.href = `/products/${item.productId}`;
        link.textContent = item.name || `Product ${item.productId}`;
        // Every line has a quantity and a Remove: each says whose, or a screen reader lists "Quantity", "Remove", … alike.
        row.querySelector('label').textContent = `Quantity of ${link.textContent}`;
        row.querySelector('button').setAttribute('aria-label', `Remove ${link.textContent}`);
        // A line that cannot be ordered as it is says why, beside its name: the order would be refused for it.
        const note = lineNote(item);
        if (note) {
          const small = document.createElement('small');
          small.className = 'line-note';
          small.id = `note-${item.productId}`;
          small.textContent = ` ${note}`;
          link.after(small);
          row.querySelector('input').setAttribute('aria-describedby', small.id);
        }
        // A line whose product is no longer for sale cannot be ordered at any quantity (a change is refused 404, as for
        // a product that does not exist): it offers Remove only.
        if (item.purchasable === false) row.querySelector('input').disabled = true;
        row.querySelector('input').addEventListener('change', async (event) => {
          // No answer (the network failed): the change may or may not have been made, so the shopper is sent to the cart.
          const reply = await api(`/cart/items/${item.productId}`, { method: 'PUT', body: JSON.stringify({ quantity: Number(event.target.value) }) }).catch(() => undefined);
          if (!reply) return say(`Could not reach the shop to change the quantity of ${link.textContent}: reload the page to see what your cart holds.`);
          const { status, data } = reply;
          if (status !== 200) {
            // The line keeps its quantity: the field shows it again (left at the refused number, 0 or past the cap, it
            // would show a quantity the order will not have), and the message says what the cart still holds.
            event.target.value = String(item.quantity);
            const why = shopperMessage({ status, data }, { fallback: `Could not change the quantity of ${link.textContent}. Try again, or reload the page.`, nameOf, max: MAX_LINE_QUANTITY });
            return say(`${why} Your cart still holds ${item.quantity}.`);
          }
          // The cart is drawn again: the focus goes back to this line's quantity (not to the page's start), and the
          // change is said in the message (a polite live region).
          render(data);
          $(`#qty-${item.productId}`, root)?.focus();
          say(`${link.textContent}: quantity ${event.target.value}. Total: ${money(data.totalCents, data.currency || 'EUR')}.`);
        });
        row.querySelector('button').addEventListener('click', async () => {
          const reply = await api(`/cart/items/${item.productId}`, { method: 'DELETE' }).catch(() => undefined);
          if (!reply) return say(`Could not reach the shop to remove ${link.textContent}: reload the page to see what your cart holds.`);
          const { status, data } = reply;
          if (status !== 200) return say(shopperMessage({ status, data }, { fallback: `Could not remove ${link.textContent} from your cart. Try again, or reload the page.`, nameOf }));
          // Its row (and the focused button) is gone: the focus goes to the message that says so.
          render(data);
          say(`Removed ${link.textContent} from your cart.`);
          $('[data-message]')?.focus();
        });
        tbody.append(row);
      }
      table.append(tbody);
      root.append(table);
      const total = document.createElement('p');
      total.className = 'total';
      total.textContent = `Total: ${money(cart.totalCents, cart.currency || 'EUR')}`;
      root.append(total);
      if (!guest) {
        const button = document.createElement('button');
        button.type = 'button';
        button.textContent = 'Place order';
        button.dataset.checkout = '';
        button.addEventListener('click', () => checkout(button, 'Place order'));
        root.append(button);
        return;
      }
      const form = document.createElement('form');
      form.className = 'guest-checkout';
      form.dataset.guestCheckout = '';
      form.innerHTML =
        '<h2>Check out as a guest</h2><label for="guest-email">Email (for your order confirmation)</label><input id="guest-email" name="email" type="email" autocomplete="email" required maxlength="254"><button type="submit">Place order as guest</button><p>Have an account? <a href="/account?next=/cart">Sign in</a> to order with it.</p>';
      const email = $('#guest-email', form);
      if (typed) email.value = typed;
      const pending = guestAttempt();
      if (pending) lockEmail(email, pending.email);
      form.addEventListener('submit', (event) => {
        event.preventDefault();
        checkout($('button', form), 'Place order as guest', email);
      });
      root.append(form);
    };
    // An attempt whose outcome is unknown is retried under its own email: the field shows it and cannot change.
    const lockEmail = (input, value) => {
      input.value = value;
      input.readOnly = true;
      input.setAttribute('aria-describedby', 'guest-email-note');
      if (!$('#guest-email-note')) {
        const note = document.createElement('p');
        note.id = 'guest-email-note';
        note.textContent = 'Your order under this email may already be placed: pressing again finishes it, it is never placed twice.';
        input.after(note);
      }
    };
    const checkout = async (button, label, email) => {
      // One press at a time: a press while the order is being placed would only be answered "in progress".
      if (button.disabled) return;
      button.disabled = true;
      email?.removeAttribute('aria-invalid');
      let wait = 0;
      try {
        if (await repriced(label)) return;
        wait = (await placeOrder(email, label)) || 0;
      } catch {
        // The request or its reply was lost: the order may or may not be placed. The key stays in the tab, so
        // pressing again replays that order or places it, never a second one.
        if (email) lockEmail(email, guestAttempt()?.email ?? email.value);
        say(`The connection to the shop was lost while placing your order. Press "${label}" again: it will not be placed twice.`);
      } finally {
        // The answer takes the focus (the button is disabled under it, which would drop it to the page's start), so a
        // keyboard or screen-reader user is at what happened: unless a field was focused to be corrected (the email).
        if (email?.getAttribute('aria-invalid') === 'true') email.focus();
        else $('[data-message]')?.focus();
        // After a "later" refusal the button comes back once its Retry-After has passed.
        if (wait > 0) setTimeout(() => (button.disabled = false), wait * 1000);
        else button.disabled = false;
      }
    };
    /**
     * Whether a line's price changed since the page drew it, then drawn again with the new prices and said: the order is
     * placed at the shop's prices of the moment, and the shopper would otherwise be charged one they were not shown.
     * The cart is read just before placing; a change in the instant between both requests is refused by the shop
     * (PRICE_CHANGED: the order carries the total shown). A cart that cannot be read leaves the order to the shop's answer.
     */
    const repriced = async (label) => {
      const reply = await api('/cart').catch(() => undefined);
      if (reply?.status !== 200) return false;
      const shown = new Map(lines.map((item) => [item.productId, item]));
      const changed = reply.data.items.filter((item) => shown.has(item.productId) && shown.get(item.productId).priceCents !== item.priceCents);
      if (changed.length === 0) return false;
      showRepriced(reply.data, label);
      return true;
    };
    /** Draws `cart` (the shop's prices now) in place of the one shown, and says which prices changed and that nothing was ordered. */
    const showRepriced = (cart, label) => {
      const shown = new Map(lines.map((item) => [item.productId, item]));
      const changed = cart.items.filter((item) => shown.has(item.productId) && shown.get(item.productId).priceCents !== item.priceCents);
      render(cart);
      const news = changed.map((item) => `The price of ${nameOf(item.productId)} has changed from ${money(shown.get(item.productId).priceCents, item.currency)} to ${money(item.priceCents, item.currency)}.`);
      say(`${news.join(' ')} Your total is now ${money(cart.totalCents, cart.currency || 'EUR')}: nothing was ordered. Press "${label}" again to order at these prices.`.trim());
    };
    /**
     * The cart as the shop refused it PRICE_CHANGED (a price changed between the read above and the order): the lines
     * shown, each at the price the order would have been placed at, with that total.
     */
    const repricedCart = (details) => {
      const now = new Map((details.items || []).map((item) => [item.productId, item]));
      const items = lines.map((item) => (now.has(item.productId) ? { ...item, priceCents: now.get(item.productId).priceCents, quantity: now.get(item.productId).quantity } : item));
      for (const item of now.values()) {
        if (!items.some((line) => line.productId === item.productId)) items.push({ ...item, name: '', currency: details.currency, purchasable: true, unavailableReason: null });
      }
      return { items, totalCents: details.totalCents, currency: details.currency };
    };
    /** Places the order (a guest's when `emailInput` is given); answers the seconds to wait before the next try, if any. */
    const placeOrder = async (emailInput, label) => {
      // One key per checkout attempt, kept for retries of the same attempt (this tab's, also after a reload).
      // The total the page shows: the shop places the order only at it, or refuses PRICE_CHANGED (a price changed since).
      // Kept with the key: a retry of the attempt is the same request, whatever the page shows after a reload.
      const shownTotal = drawn?.currency ? { expectedTotalCents: drawn.totalCents, expectedCurrency: drawn.currency } : undefined;
      let key;
      let email;
      let expected;
      if (emailInput) {
        const pending = guestAttempt();
        ({ key, email, expected } = pending ?? { key: crypto.randomUUID(), email: emailInput.value.trim(), expected: shownTotal });
        if (!pending) sessionStorage.setItem(GUEST_ATTEMPT, JSON.stringify({ key, email, expected }));
      } else {
        key = sessionStorage.getItem('salescale-checkout-key');
        if (key) {
          try {
            expected = JSON.parse(sessionStorage.getItem('salescale-checkout-expected') || 'null') ?? undefined;
          } catch {
            expected = undefined;
          }
        } else {
          key = crypto.randomUUID();
          expected = shownTotal;
          sessionStorage.setItem('salescale-checkout-key', key);
          sessionStorage.setItem('salescale-checkout-expected', JSON.stringify(expected ?? null));
        }
      }
      const forget = () => {
        sessionStorage.removeItem(emailInput ? GUEST_ATTEMPT : 'salescale-checkout-key');
        if (!emailInput) sessionStorage.removeItem('salescale-checkout-expected');
      };
      const headers = { 'idempotency-key': key };
      // Waiting-room passes are the browser's (its visitor cookie's), signed in or not.
      const held = passes.all();
      if (held.length > 0) headers['waiting-room-pass'] = held.join(',');
      const payload = JSON.stringify({ ...(email ? { email } : {}), ...expected });
      say('Placing your order…');
      let reply = await api('/orders', { method: 'POST', headers, body: payload });
      // The attempt under this key is still running (a slow checkout at peak, seen after a reload): ask again
      // with the same key until it has its answer. A new key would place a second order.
      for (let waited = 0; reply.status === 409 && reply.data?.error?.code === 'IDEMPOTENCY_IN_PROGRESS'; waited++) {
        if (waited >= 60) {
          say('Your order is still being placed. Press the button again in a moment to see it.');
          return 0;
        }
        say('Your order is still being placed…');
        await sleep(1000);
        reply = await api('/orders', { method: 'POST', headers, body: payload });
      }
      const { status, data } = reply;
      if (status === 401) {
        // A guest's cart joins the account at sign-in.
        location.href = `/account?next=${encodeURIComponent('/cart')}`;
        return 0;
      }
      if (status === 201) {
        forget();
        if (held.length > 0) passes.ordered(data.passesSpent);
        // The guest's order is reached by its access token: a page of its own, kept out of logs and Referer.
        location.href = email ? `/guest-orders/${encodeURIComponent(data.accessToken)}` : `/orders/${data.id}`;
        return 0;
      }
      const error = data?.error || {};
      if (error.code === 'PASS_USED') {
        forget();
        say('Your waiting-room pass for this sale has already bought an order: a pass buys one.');
        return 0;
      }
      if (error.code === 'SALE_NOT_STARTED') {
        // A queued sale's product whose line is open, before the start: no pass exists yet, the key is kept (the check
        // runs before the idempotency record), as for PASS_REQUIRED.
        const message = $('[data-message]');
        const names = (error.details.productIds || []).map((id) => nameOf(id)).join(', ');
        message.textContent = `${names || 'A product in your cart'} goes on sale at ${new Date(error.details.startsAt).toLocaleString()}, when the sale starts, through its waiting room: it cannot be ordered before. Remove it to order the rest, or `;
        const link = document.createElement('a');
        link.href = `/sale/${error.details.saleEventId}/queue`;
        link.textContent = 'join the waiting room';
        message.append(link);
        return 0;
      }
      if (['PASS_REQUIRED', 'PASS_EXPIRED', 'PASS_INVALID'].includes(error.code)) {
        const message = $('[data-message]');
        message.textContent = 'This sale is queued: join the waiting room to buy. ';
        const link = document.createElement('a');
        link.href = `/sale/${error.details.saleEventId}/queue`;
        link.textContent = 'Join the waiting room';
        message.append(link);
        return 0;
      }
      // Refused for now (overloaded, rate limited): the key is kept, the outcome of a 5xx being unknown.
      if (retriable(reply)) {
        const wait = backoff(reply, 0);
        if (emailInput) lockEmail(emailInput, email);
        say(
          status === 429
            ? `Too many attempts from your connection. Try again in ${duration(wait)}.`
            : `The shop is very busy right now. Try again in ${duration(wait)}: your order will not be placed twice.`,
        );
        return wait;
      }
      forget();
      if (emailInput) {
        emailInput.readOnly = false;
        $('#guest-email-note')?.remove();
      }
      if (emailInput && (status === 400 || status === 422) && (error.code === 'VALIDATION_FAILED' || /email/i.test(error.message || ''))) {
        emailInput.setAttribute('aria-invalid', 'true');
        say('Enter a valid email address, such as name@example.com.');
        return 0;
      }
      if (error.code === 'OUT_OF_STOCK') {
        const short = error.details?.shortages?.[0] ?? error.details ?? {};
        say(short.available > 0 ? `Only ${short.available} of ${nameOf(short.productId)} left: lower the quantity to order.` : `Sorry, ${nameOf(short.productId)} is sold out.`);
        return 0;
      }
      if (error.code === 'PRICE_CHANGED' && error.details) {
        showRepriced(repricedCart(error.details), label);
        return 0;
      }
      if (error.code === 'PRODUCT_UNAVAILABLE') {
        const gone = error.details?.products ?? [error.details ?? {}];
        say(`Can no longer be ordered: ${gone.map((p) => nameOf(p.productId)).join(', ')}. Remove ${gone.length > 1 ? 'them' : 'it'} from your cart to order the rest.`);
        return 0;
      }
      if (error.code === 'PURCHASE_LIMIT_EXCEEDED') {
        const d = error.details || {};
        say(`${nameOf(d.productId)} is limited to ${d.limit} per customer${d.saleEventId ? ' in this sale' : ''}${d.alreadyPurchased ? ` (you have ${d.alreadyPurchased} already)` : ''}: lower the quantity to order.`);
        return 0;
      }
      say(shopperMessage(reply, { fallback: 'The order could not be placed: try again, or reload the page.', nameOf }));
      return 0;
    };
    // The first load meets a sale's peak like any request: refused "later" (503 shedding load, 429 rate limited, each
    // with Retry-After) or no connection, it asks again by itself, a bounded number of times, and says so in place of
    // the "Loading…" line. Whether the shopper is signed in is asked the same way, silently.
    const LOAD_ATTEMPTS = 8;
    const waitToLoad = (reply, wait) => {
      root.replaceChildren();
      say(reply ? `The shop is very busy right now. Trying again to load your cart in ${duration(wait)}…` : `No connection to the shop. Trying again to load your cart in ${duration(wait)}…`);
    };
    Promise.all([askUntilAnswered(() => api('/cart'), waitToLoad, LOAD_ATTEMPTS), askUntilAnswered(() => api('/me'), () => {}, LOAD_ATTEMPTS)]).then(([cart, me]) => {
      guest = me?.status === 401;
      if (cart?.status === 200) {
        say('');
        render(cart.data);
        return;
      }
      root.replaceChildren();
      say(cart ? shopperMessage(cart, { fallback: 'Could not load the cart: reload the page to try again.' }) : 'Could not reach the shop to load the cart: check your connection and reload the page.');
    });
  }

  /**
   * An order and what can be done with it: paying with the test provider, and cancelling while unpaid where `cancel`
   * is given. `path` is the order's API path (`/orders/:id`, or a guest's `/guest-orders/:token`).
   */
  const showOrder = (root, path, options = {}) => {
    // The payment window is counted down on the shop's clock (PostgreSQL's ends it), as its replies' Date header gives
    // it: a browser clock more than 2 s off (the header's whole seconds, a round trip) is corrected.
    let skew = 0;
    const load = async () => {
      const sentAt = Date.now();
      const reply = await api(path);
      const off = reply.date ? reply.date - (sentAt + Date.now()) / 2 : 0;
      skew = Math.abs(off) > 2000 ? off : 0;
      return reply;
    };
    // The time left is shown every second but not read out (a screen reader would speak nothing else): it is read out
    // at 5 min and 1 min left (a polite region of its own), and its end in the page's message.
    const READ_OUT_AT_S = [300, 60];
    let timer;
    let recount = () => {};
    onShown(() => recount());
    const countDown = (data, left, news, pay) => {
      const endsAt = Date.parse(data.payment.expiresAt);
      let steps;
      const count = () => {
        clearTimeout(timer);
        const ms = endsAt - (Date.now() + skew);
        if (ms <= 0) return void runOut(pay, left);
        const seconds = Math.ceil(ms / 1000);
        left.textContent = `Time left to pay: ${duration(seconds)}.`;
        // Steps already passed when the page opened are not read out.
        steps ??= READ_OUT_AT_S.filter((step) => step < seconds);
        if (steps.length > 0 && seconds <= steps[0]) {
          news.textContent = `${duration(steps[0])} left to pay for this order.`;
          steps = steps.filter((step) => step < seconds);
        }
        timer = setTimeout(count, ms % 1000 || 1000);
      };
      recount = count;
      count();
    };
    // At the window's end Pay goes (a press would be refused ORDER_EXPIRED) and the page says so; then the shop has the
    // last word: its read says expired (shown as such), or the order still open until a later time (the window runs on).
    const runOut = async (pay, left) => {
      recount = () => {};
      left.textContent = 'Time left to pay: none.';
      if (pay) pay.disabled = true;
      say('The time to pay for this order has run out, so it can no longer be paid: place a new order to buy these products.');
      for (let attempt = 1; attempt <= 5; attempt++) {
        const reply = await load().catch(() => undefined);
        const data = reply?.status === 200 ? reply.data : undefined;
        if (data && (data.status !== 'pending_payment' || Date.parse(data.payment.expiresAt) > Date.now() + skew)) {
          if (data.status === 'pending_payment') say('');
          return render(data);
        }
        await sleep(attempt * 1000);
      }
    };
    const render = (data) => {
      clearTimeout(timer);
      recount = () => {};
      root.replaceChildren();
      const p = document.createElement('p');
      p.dataset.orderStatus = data.status;
      p.textContent =
        data.status === 'pending_payment'
          ? `Reserved until ${new Date(data.payment.expiresAt).toLocaleTimeString()}: pay to complete. Total ${money(data.totalCents, data.currency)}.`
          : `${data.status === 'paid' ? 'Thank you! ' : ''}Status: ${data.status}. Total ${money(data.totalCents, data.currency)}.`;
      const list = document.createElement('ul');
      for (const item of data.items) {
        const li = document.createElement('li');
        li.textContent = `${item.quantity} × ${item.name ?? `product ${item.productId}`} at ${money(item.priceCents, data.currency)}`;
        list.append(li);
      }
      root.append(p, list);
      if (data.status !== 'pending_payment') return;
      const left = document.createElement('p');
      left.dataset.paymentLeft = '';
      const news = document.createElement('p');
      news.className = 'visually-hidden';
      news.setAttribute('aria-live', 'polite');
      news.dataset.paymentNews = '';
      root.append(left, news);
      const actions = document.createElement('p');
      actions.className = 'actions';
      let pay;
      // The built-in test provider: pay with its approved test card (a real provider confirms with its own script).
      if (data.payment.provider === 'test') {
        const button = document.createElement('button');
        button.type = 'button';
        button.textContent = 'Pay with the test card';
        pay = button;
        button.addEventListener('click', async () => {
          button.disabled = true;
          say('Paying…');
          // A lost reply leaves the payment's outcome unknown: the same key on the next press replays it, or pays.
          const paid = await api(`${path}/pay`, { method: 'POST', headers: { 'idempotency-key': `pay-${data.id}` }, body: JSON.stringify({ token: 'tok_ok' }) }).catch(() => undefined);
          if (!paid) {
            button.disabled = false;
            say('The connection to the shop was lost while paying. Press the button again: you will not be charged twice.');
          } else if (paid.status === 200) {
            say('Paid. A confirmation email is on its way.');
            render(paid.data);
          } else {
            // Refused as expired, the order cannot be paid any more: Pay stays off.
            button.disabled = paid.data?.error?.code === 'ORDER_EXPIRED';
            say(retriable(paid) ? `The shop is very busy right now. Try again in ${duration(backoff(paid, 0))}: you will not be charged twice.` : shopperMessage(paid, { fallback: 'The payment did not go through, and nothing was charged: try again.', nameOf: (id) => data.items.find((item) => item.productId === id)?.name }));
          }
        });
        actions.append(button);
      }
      if (options.cancel) {
        const cancel = document.createElement('button');
        cancel.type = 'button';
        cancel.className = 'secondary';
        cancel.textContent = 'Cancel order';
        cancel.addEventListener('click', async () => {
          cancel.disabled = true;
          say('Cancelling…');
          // Cancelling twice is harmless: the stock comes back once.
          const done = await api(`${path}/cancel`, { method: 'POST' }).catch(() => undefined);
          if (done?.status === 200) {
            say('Your order is cancelled.');
            render(done.data);
            return;
          }
          cancel.disabled = false;
          say(!done ? 'The connection to the shop was lost while cancelling. Press the button again.' : shopperMessage(done, { fallback: 'The order could not be cancelled: try again, or reload the page.' }));
        });
        actions.append(' ', cancel);
      }
      root.append(actions);
      countDown(data, left, news, pay);
    };
    load().then(({ status, data }) => {
      if (status === 200) render(data);
      else if (options.notFound) options.notFound();
      else say('Could not load the order.');
    }, () => say('Could not reach the shop to load the order. Reload the page to try again.'));
  };

  if (page === 'order') {
    // Not `[data-order]` alone: the page's body carries `data-order` (the order's id) too, and comes first.
    const root = $('main [data-order]');
    showOrder(root, `/orders/${body.dataset.order}`, { notFound: () => (root.innerHTML = '<p>Order not found. <a href="/account">Sign in</a>?</p>') });
  }

  if (page === 'guest-order') {
    // The access token is the last segment of this page's address (never sent elsewhere: no Referer, no logs).
    const token = location.pathname.split('/').pop();
    const root = $('main [data-order]');
    showOrder(root, `/guest-orders/${token}`, {
      cancel: true,
      notFound: () => (root.innerHTML = '<p>This order link is not valid, or has expired.</p>'),
    });
  }
})();
