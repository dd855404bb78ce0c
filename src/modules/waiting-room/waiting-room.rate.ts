import { MIN_ADMISSION_PER_SECOND } from '../sale-events/index.ts';

/**
 * The admission rate of a sale event's waiting room, in visitors per second, never below
 * MIN_ADMISSION_PER_SECOND (an event stored before that minimum existed is admitted at it).
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
  if (input.configured !== null && input.configured > 0) return { perSecond: Math.max(MIN_ADMISSION_PER_SECOND, input.configured), source: 'configured' };
  // This instance is live even before its first heartbeat is counted.
  const instances = Math.max(1, input.liveWebInstances);
  const perSecond = (instances * input.capacityRpsPerInstance * input.safetyFactor) / input.requestsPerVisitor;
  return { perSecond: Math.max(MIN_ADMISSION_PER_SECOND, Math.round(perSecond * 100) / 100), source: 'capacity' };
}
