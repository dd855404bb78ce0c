/**
 * Every benchmark scenario, in run order (`npm run bench` runs them all; `salescale bench <name>`
 * one). Capacity runs before sale-mix, which sizes its 10× spike from the measured capacity.
 * To add one, see the comment at the top of bench/scenario.ts.
 */
import { catalogScenario } from './catalog.ts';
import { checkoutHotScenario, soldOutScenario } from './checkout.ts';
import { checkoutTracingScenario } from './checkout-tracing.ts';
import { catalogCostsScenario } from './catalog-costs.ts';
import { pgbenchScenario } from './pgbench.ts';
import { forecastScenario } from './forecast.ts';
import { queueScenario } from './queue.ts';
import { startupScenario } from './startup.ts';
import { capacityScenario, saleMixScenario } from './sale-mix.ts';
import type { Scenario } from './scenario.ts';
import { waitingRoomScenario } from './waiting-room.ts';

export const SCENARIOS: Scenario[] = [
  catalogScenario,
  checkoutHotScenario,
  soldOutScenario,
  checkoutTracingScenario,
  queueScenario,
  capacityScenario,
  saleMixScenario,
  forecastScenario,
  waitingRoomScenario,
  startupScenario,
  catalogCostsScenario,
  pgbenchScenario,
];
