-- place_order takes the total its buyer was shown (p_expected_total_cents, p_expected_currency: orders.sql defines it,
-- beside the six-argument place_order the previous release calls). Nothing to change in the tables: this migration
-- dates the schema that has it, so an instance of this release is not ready (`"schema": "behind"`) before `migrate`
-- has applied orders.sql, rather than answering every checkout 500 for a function that does not exist yet.
SELECT 1;
