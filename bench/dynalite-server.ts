/**
 * dynalite (a DynamoDB wire-protocol server, in memory) in its own process: seeding and the handlers' reads then
 * use their own cores, and its CPU time is accounted apart.
 */
import type * as http from 'node:http';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require('dynalite') as (opts: object) => http.Server;
const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  process.send?.({ port });
});
process.on('disconnect', () => process.exit(0));
