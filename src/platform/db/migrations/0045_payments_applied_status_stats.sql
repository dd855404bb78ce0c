-- The planner's estimate of `applied and status = 'voided'` (the open-problems gauge's hold_lapsed, on the partial index
-- payments_applied_voided_idx) multiplied the two columns' frequencies as if independent: every applied payment is
-- one whose order was paid, and most voided ones are intents canceled unpaid, so it guessed 120,000 rows of 500,000
-- where there were 20, and hash-joined a sequential scan of orders (71 ms) instead of 20 primary-key lookups (0.08 ms).
CREATE STATISTICS "payments_applied_status_stats" (mcv) ON "applied", "status" FROM "payments";
