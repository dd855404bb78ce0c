-- Customer records written inside other modules' statements. A definition file, not a migration: `salescale migrate`
-- applies it (after the table migrations, before orders.sql, which calls it) on every run, so this file is the one
-- current text of these functions.
--
-- guest_customer_id: the guest record of an email, written on its first use (an upsert on the guests' unique index
-- on lower(email): two first orders of one email at once share one record). Called by place_order's callers inside
-- the statement that places the order, so a refused checkout, rolled back, leaves no record for the email it named.
CREATE OR REPLACE FUNCTION guest_customer_id(p_email text) RETURNS bigint
LANGUAGE sql VOLATILE STRICT AS $$
  INSERT INTO customers (email, name, password_hash, guest) VALUES (btrim(p_email), 'Guest', '', true)
    ON CONFLICT (lower(email)) WHERE guest DO UPDATE SET updated_at = now()
    RETURNING id
$$;
