// logs-shipping.test.ts again, with line workers on: logs.workers 1 and logs.worker_backlog 0, so every
// file with anything to read is busy, and busy files are dealt between a worker and the main
// thread (the first to the worker). Durability and rotation must not depend on where lines are encoded.
process.env.DOCKHAND_TEST_LINE_WORKERS = 'all';
await import('./logs-shipping.test.ts');
