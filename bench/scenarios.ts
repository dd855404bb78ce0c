/**
 * Every benchmark scenario, in run order (`npm run bench` runs them all; `salescale bench <name>`
 * one). Capacity runs before sale-mix, which sizes its 10× spike from the measured capacity.
 * To add one, see the comment at the top of bench/scenario.ts.
 */
import { catalogScenario } from './catalog.ts';
import { catalogCostsScenario } from './catalog-costs.ts';
import { pgbenchScenario } from './pgbench.ts';
import { queueScenario } from './queue.ts';
import { capacityScenario, saleMixScenario } from './sale-mix.ts';
import { skip, type Scenario } from './scenario.ts';

/** Stands in for a scenario whose code has not landed yet, so the run says so instead of omitting it. */
function pending(name: string, describe: string): Scenario {
  return { name, describe, run: async () => skip(`not written yet (${describe})`) };
}

export const SCENARIOS: Scenario[] = [
  catalogScenario,
  pending('checkout-hot', 'one hot product, many buyers vs pgbench single-row conditional update'),
  pending('sold-out', 'the hot product after it sold out: every request answered by the stock gate'),
  queueScenario,
  capacityScenario,
  saleMixScenario,
  catalogCostsScenario,
  pgbenchScenario,
];
