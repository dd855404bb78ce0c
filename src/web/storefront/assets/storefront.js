// Salescale storefront: a little progressive enhancement over server-rendered pages. No framework.

(() => {
  const body = document.body;
  const page = body.dataset.page;
  const api = (path, options = {}) =>
    fetch(`/api/v1${path}`, {
      credentials: 'same-origin',
      ...options,
      headers: { ...(options.body ? { 'content-type': 'application/json' } : {}), ...(options.headers || {}) },
    }).then(async (response) => {
      const text = await response.text();
      let data;
      try {
        data = text ? JSON.parse(text) : undefined;
      } catch {
        data = text;
      }
      return { status: response.status, data, retryAfter: Number(response.headers.get('retry-after')) || undefined };
    });
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  /**
   * Seconds to wait before asking again after a refusal that says "later" (503, or 429 RATE_LIMITED) or a network
   * error: the reply's Retry-After if it has one, else 1, 2, 4 … 30 s; at most 60 s. The caller adds up to a
   * second at random, so a crowd refused at once does not come back at once.
   */
  const backoff = (reply, attempt) => Math.min(60, reply?.retryAfter ?? Math.min(30, 2 ** attempt));
  const retriable = (reply) => !reply || reply.status >= 500 || (reply.status === 429 && reply.data?.error?.code === 'RATE_LIMITED');
  const $ = (selector, root = document) => root.querySelector(selector);
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

  // Waiting-room passes, per sale event, for this tab: sent with checkout while valid.
  const passes = {
    key: (saleId) => `salescale-pass-${saleId}`,
    get(saleId) {
      try {
        const value = JSON.parse(sessionStorage.getItem(this.key(saleId)) || 'null');
        return value && Date.parse(value.expiresAt) > Date.now() ? value : undefined;
      } catch {
        return undefined;
      }
    },
    set(saleId, pass, expiresAt) {
      sessionStorage.setItem(this.key(saleId), JSON.stringify({ pass, expiresAt }));
    },
    all() {
      const out = [];
      for (let i = 0; i < sessionStorage.length; i++) {
        const key = sessionStorage.key(i);
        if (key?.startsWith('salescale-pass-')) {
          const value = this.get(key.slice('salescale-pass-'.length));
          if (value) out.push(value.pass);
        }
      }
      return out;
    },
  };

  // Sale countdowns.
  const countdowns = [...document.querySelectorAll('[data-countdown-start]')];
  const tick = () => {
    const now = Date.now();
    for (const el of countdowns) {
      const start = Date.parse(el.dataset.countdownStart);
      const end = Date.parse(el.dataset.countdownEnd);
      const span = $('.countdown', el);
      span.textContent = now < start ? `starts in ${duration((start - now) / 1000)}` : now < end ? `live now, ends in ${duration((end - now) / 1000)}` : 'has ended';
    }
  };
  if (countdowns.length > 0) {
    tick();
    setInterval(tick, 1000);
  }

  if (page === 'product') {
    const productId = body.dataset.product;
    const saleId = body.dataset.queuedSale;
    const available = $('[data-available]');
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
        } else if (retriable(reply) || reply.status === 429) {
          wait = Math.max(wait, backoff(reply, failures++));
        }
      }
      setTimeout(refresh, wait * 1000);
    };
    setTimeout(refresh, 2000);
    const form = $('[data-add-to-cart]');
    if (saleId) {
      const pass = passes.get(saleId);
      const note = $('[data-pass-status]');
      if (pass) {
        note.hidden = false;
        note.textContent = `You have been admitted: your pass is valid until ${new Date(pass.expiresAt).toLocaleTimeString()}.`;
        $('[data-join]').hidden = true;
      } else {
        form.hidden = true;
      }
    }
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const quantity = Number(new FormData(form).get('quantity'));
      const { status, data } = await api(`/cart/items/${productId}`, { method: 'PUT', body: JSON.stringify({ quantity }) });
      if (status === 401) {
        location.href = `/account?next=${encodeURIComponent(location.pathname)}`;
        return;
      }
      if (status === 200) {
        const message = $('[data-message]');
        message.textContent = 'Added to your cart. ';
        const link = document.createElement('a');
        link.href = '/cart';
        link.textContent = 'Go to the cart';
        message.append(link);
        link.focus();
      } else say(data?.error?.message || 'Could not add to the cart.');
    });
  }

  if (page === 'waiting-room') {
    const saleId = body.dataset.sale;
    const state = $('[data-state]');
    const position = $('[data-position]');
    const eta = $('[data-eta]');
    const progress = $('[data-progress]');
    let first;
    const show = (s) => {
      if (s.position !== null && first === undefined) first = s.position;
      position.textContent = s.position === null ? (s.state === 'waiting' ? 'decided at the start' : '–') : String(s.position);
      eta.textContent = s.etaSeconds === null ? '–' : duration(s.etaSeconds);
      if (first && s.position !== null) progress.value = Math.round((100 * (first - s.position + 1)) / first);
      const texts = {
        waiting: s.position === null ? 'You are in the pre-queue: places are drawn at random when the sale starts.' : 'You are in line.',
        admitted: 'It is your turn! Your pass is valid for a limited time.',
        sold_out: 'Sold out: everything in this sale has been taken. Stay here: if units come back, the line moves again.',
        expired: 'This ticket has expired.',
      };
      state.textContent = texts[s.state];
      body.dataset.state = s.state;
      if (s.state === 'admitted') {
        progress.value = 100;
        passes.set(saleId, s.pass, s.passExpiresAt);
        $('[data-admitted]').hidden = false;
      }
    };
    // Joining: the first request of a sale's crowd, so the one most likely to meet an overloaded shop. A refusal
    // that says "later" is retried (the shopper is told so); one that will not change (sale ended, the address's
    // ticket limit) is shown as it is.
    const join = async () => {
      for (let attempt = 0; ; attempt++) {
        const reply = await api(`/sale-events/${saleId}/queue`, { method: 'POST' }).catch(() => undefined);
        if (reply?.status === 201) return reply.data;
        if (!retriable(reply)) {
          state.textContent = reply.data?.error?.message || 'Could not join the line.';
          return undefined;
        }
        const wait = backoff(reply, attempt);
        state.textContent = reply
          ? `The shop is very busy right now. Trying again to join the line in ${duration(wait)}…`
          : `No connection to the shop. Trying again to join the line in ${duration(wait)}…`;
        await sleep(wait * 1000 + Math.random() * 1000);
      }
    };
    // The status stream. EventSource reconnects by itself after a dropped connection, but an HTTP error reply
    // (503 while the shop is overloaded, an instance draining) closes it for good: then it is opened again here,
    // with the same backoff, so the shopper's place keeps updating and admission is not missed.
    const follow = (ticket, attempt = 0) => {
      const source = new EventSource(`/api/v1/sale-events/${saleId}/queue/${encodeURIComponent(ticket)}/events`);
      let finished = false;
      source.addEventListener('open', () => {
        attempt = 0;
      });
      source.addEventListener('status', (event) => {
        const s = JSON.parse(event.data);
        show(s);
        if (s.state === 'admitted' || s.state === 'expired') {
          finished = true;
          source.close();
        }
      });
      source.addEventListener('error', () => {
        if (finished || source.readyState !== EventSource.CLOSED) return;
        setTimeout(() => follow(ticket, attempt + 1), backoff(undefined, attempt) * 1000 + Math.random() * 1000);
      });
    };
    (async () => {
      const data = await join();
      if (!data) return;
      show(data);
      if (data.state === 'admitted' || data.state === 'expired') return;
      follow(data.ticket);
    })();
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
    api('/me').then(({ status, data }) => {
      if (status === 200) {
        const el = $('[data-signed-in]');
        el.hidden = false;
        el.textContent = `Signed in as ${data.name} (${data.email}).`;
      }
    });
    for (const [selector, path] of [
      ['[data-sign-in]', '/sessions'],
      ['[data-register]', '/customers'],
    ]) {
      const form = $(selector);
      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        const { status, data } = await api(path, { method: 'POST', body: JSON.stringify(Object.fromEntries(new FormData(form))) });
        if (status === 200 || status === 201) done();
        else say(data?.error?.message || 'That did not work.');
      });
    }
  }

  if (page === 'cart') {
    const root = $('[data-cart]');
    const render = (cart) => {
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
        row.innerHTML = `<td><a></a></td><td>${money(item.priceCents, item.currency)}</td><td><label class="visually-hidden" for="qty-${item.productId}">Quantity</label><input id="qty-${item.productId}" type="number" min="1" max="1000" value="${item.quantity}"></td><td><button type="button">Remove</button></td>`;
        const link = row.querySelector('a');
        link.href = `/products/${item.productId}`;
        link.textContent = item.name;
        row.querySelector('input').addEventListener('change', async (event) => {
          const { status, data } = await api(`/cart/items/${item.productId}`, { method: 'PUT', body: JSON.stringify({ quantity: Number(event.target.value) }) });
          if (status === 200) render(data);
          else say(data?.error?.message || 'Could not change the quantity.');
        });
        row.querySelector('button').addEventListener('click', async () => {
          const { status, data } = await api(`/cart/items/${item.productId}`, { method: 'DELETE' });
          if (status === 200) render(data);
        });
        tbody.append(row);
      }
      table.append(tbody);
      root.append(table);
      const total = document.createElement('p');
      total.className = 'total';
      total.textContent = `Total: ${money(cart.totalCents, cart.currency || 'EUR')}`;
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = 'Place order';
      button.dataset.checkout = '';
      button.addEventListener('click', () => checkout(button));
      root.append(total, button);
    };
    const checkout = async (button) => {
      // One press at a time: a press while the order is being placed would only be answered "in progress".
      if (button.disabled) return;
      button.disabled = true;
      try {
        await placeOrder();
      } catch {
        // The request or its reply was lost: the order may or may not be placed. The key stays in the tab, so
        // pressing again replays that order or places it, never a second one.
        say('The connection to the shop was lost while placing your order. Press "Place order" again: it will not be placed twice.');
      } finally {
        button.disabled = false;
      }
    };
    const placeOrder = async () => {
      // One key per checkout attempt, kept for retries of the same attempt (this tab's, also after a reload).
      let key = sessionStorage.getItem('salescale-checkout-key');
      if (!key) {
        key = crypto.randomUUID();
        sessionStorage.setItem('salescale-checkout-key', key);
      }
      const headers = { 'idempotency-key': key };
      const held = passes.all();
      if (held.length > 0) headers['waiting-room-pass'] = held.join(',');
      say('Placing your order…');
      let { status, data } = await api('/orders', { method: 'POST', headers, body: '{}' });
      // The attempt under this key is still running (a slow checkout at peak, seen after a reload): ask again
      // with the same key until it has its answer. A new key would place a second order.
      for (let waited = 0; status === 409 && data?.error?.code === 'IDEMPOTENCY_IN_PROGRESS'; waited++) {
        if (waited >= 60) {
          say('Your order is still being placed. Press the button again in a moment to see it.');
          return;
        }
        say('Your order is still being placed…');
        await new Promise((resolve) => setTimeout(resolve, 1000));
        ({ status, data } = await api('/orders', { method: 'POST', headers, body: '{}' }));
      }
      if (status === 401) {
        // A guest's cart joins the account at sign-in.
        location.href = `/account?next=${encodeURIComponent('/cart')}`;
        return;
      }
      if (status === 201) {
        sessionStorage.removeItem('salescale-checkout-key');
        location.href = `/orders/${data.id}`;
        return;
      }
      const error = data?.error || {};
      if (error.code === 'PASS_USED') {
        sessionStorage.removeItem('salescale-checkout-key');
        say('Your waiting-room pass for this sale has already bought an order: a pass buys one.');
        return;
      }
      if (['PASS_REQUIRED', 'PASS_EXPIRED', 'PASS_INVALID'].includes(error.code)) {
        const message = $('[data-message]');
        message.textContent = 'This sale is queued: join the waiting room to buy. ';
        const link = document.createElement('a');
        link.href = `/sale/${error.details.saleEventId}/queue`;
        link.textContent = 'Join the waiting room';
        message.append(link);
        return;
      }
      if (status < 500) sessionStorage.removeItem('salescale-checkout-key');
      say(error.message || 'The order could not be placed.');
    };
    api('/cart').then(({ status, data }) => {
      if (status === 401) root.innerHTML = '<p><a href="/account?next=/cart">Sign in</a> to see your cart.</p>';
      else if (status === 200) render(data);
      else say('Could not load the cart.');
    });
  }

  if (page === 'order') {
    // Not `[data-order]` alone: the page's body carries `data-order` (the order's id) too, and comes first.
    const root = $('main [data-order]');
    const render = (data) => {
      root.replaceChildren();
      const p = document.createElement('p');
      p.dataset.orderStatus = data.status;
      p.textContent =
        data.status === 'pending_payment'
          ? `Reserved until ${new Date(data.payment.expiresAt).toLocaleTimeString()}: pay to complete. Total ${money(data.totalCents, data.currency)}.`
          : `Thank you! Status: ${data.status}. Total ${money(data.totalCents, data.currency)}.`;
      const list = document.createElement('ul');
      for (const item of data.items) {
        const li = document.createElement('li');
        li.textContent = `${item.quantity} × product ${item.productId} at ${money(item.priceCents, data.currency)}`;
        list.append(li);
      }
      root.append(p, list);
      // The built-in test provider: pay with its approved test card (a real provider confirms with its own script).
      if (data.status === 'pending_payment' && data.payment.provider === 'test') {
        const button = document.createElement('button');
        button.type = 'button';
        button.textContent = 'Pay with the test card';
        button.addEventListener('click', async () => {
          button.disabled = true;
          say('Paying…');
          // A lost reply leaves the payment's outcome unknown: the same key on the next press replays it, or pays.
          const paid = await api(`/orders/${data.id}/pay`, { method: 'POST', headers: { 'idempotency-key': `pay-${data.id}` }, body: JSON.stringify({ token: 'tok_ok' }) }).catch(() => undefined);
          if (!paid) {
            button.disabled = false;
            say('The connection to the shop was lost while paying. Press the button again: you will not be charged twice.');
          } else if (paid.status === 200) {
            say('Paid. A confirmation email is on its way.');
            render(paid.data);
          } else {
            button.disabled = false;
            say(paid.data?.error?.message || 'The payment did not go through.');
          }
        });
        root.append(button);
      }
    };
    api(`/orders/${body.dataset.order}`).then(({ status, data }) => {
      if (status !== 200) {
        root.innerHTML = '<p>Order not found. <a href="/account">Sign in</a>?</p>';
        return;
      }
      render(data);
    });
  }
})();
