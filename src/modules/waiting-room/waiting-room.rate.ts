import { MAX_ADMISSION_PER_SECOND, MIN_ADMISSION_PER_SECOND } from '../sale-events/index.ts';

/**
 * The admission rate of a sale event's waiting room, in visitors per second, within MIN_ADMISSION_PER_SECOND
 * and MAX_ADMISSION_PER_SECOND (an event stored outside them by an earlier release is admitted at the bound,
 * as is a derived rate beyond them).
 *
 * Configured on the event (`waitingRoom.admissionPerSecond`), or derived from what the site can
 * serve right now: live web instances (from the cluster heartbeat) × requests/s one instance serves
 * within the SLO (WAITING_ROOM_CAPACITY_RPS: the deployment spec's per-pod figure in every rendered
 * manifest; see `src/web/capacity.ts` for a run without it) × a safety factor, divided
 * by the requests one admitted visitor makes (product page, cart, checkout, polling). Scaling out
 * raises the rate within a heartbeat; an instance lost lowers it.
 */
export interface AdmissionRateInput {
  configured: number | null;
  liveWebInstances: number;
  capacityRpsPerInstance: number;
  safetyFactor: number;
  requestsPerVisitor: number;
}

export function admissionRate(input: AdmissionRateInput): { perSecond: number; source: 'configured' | 'capacity' } {
  if (input.configured !== null && input.configured > 0) return { perSecond: bounded(input.configured), source: 'configured' };
  // This instance is live even before its first heartbeat is counted.
  const instances = Math.max(1, input.liveWebInstances);
  const perSecond = (instances * input.capacityRpsPerInstance * input.safetyFactor) / input.requestsPerVisitor;
  return { perSecond: bounded(Math.round(perSecond * 100) / 100), source: 'capacity' };
}

const bounded = (perSecond: number) => Math.min(MAX_ADMISSION_PER_SECOND, Math.max(MIN_ADMISSION_PER_SECOND, perSecond));
