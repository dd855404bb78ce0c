export { inventoryProcessors, type StockUpdate } from './inventory.processors.ts';
