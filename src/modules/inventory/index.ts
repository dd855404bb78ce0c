export { createStockGate, StockGateUnavailableError, type ReserveResult, type SnapshotReader, type StockGate, type StockLine, type StockSnapshot } from './stock-gate.ts';
export { createStockView } from './stock-view.ts';
export { giveBackStock, type ReturnedLine } from './stock-return.ts';
export { availableOf, createInventoryRepository, insertStock, splitStock, type InventoryRepository, type InventoryRepositoryOptions } from './inventory.repository.ts';
export { listenForStockViewNotices, publishingStockGate, stockViewChannel, stockViewNoticeCounterFor, type StockViewNoticeCounter } from './stock-view-notices.ts';
