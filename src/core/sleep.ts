// Kept until src/docker/watcher.ts moves to core/timers.ts (one timer helper).
export { sleep } from './timers.ts';
