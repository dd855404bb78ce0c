export { createWaitingRoomFeature, waitingRoomSchemas, type WaitingRoomFeatureDeps } from './waiting-room.feature.ts';
export { admissionRate } from './waiting-room.rate.ts';
export { createTokenSigner, type PassClaims, type TokenSigner } from './waiting-room.tokens.ts';
export type { TicketState, TicketStatus, WaitingRoom } from './waiting-room.service.ts';
export { createWaitingRoomRepository, type WaitingRoomRepository } from './waiting-room.repository.ts';
export * from './waiting-room.tables.ts';
export { JOIN_OPENS_BEFORE_MS } from './waiting-room.registry.ts';
