import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Starts `server` on a free port of `host` (a bare address: `127.0.0.1`, `::1`) and returns its `http://` endpoint
 * (an IPv6 address in brackets, as URLs want it). For the gateway's internal services.
 */
export async function listenOnFreePort(server: Server, host: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return `http://${urlHost(host)}:${port}`;
}

/** A bare address as it stands in a URL: an IPv6 literal in brackets. */
export function urlHost(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}
