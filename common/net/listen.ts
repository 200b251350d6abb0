/** Promise wrappers for binding sockets, with errors that say what could not listen where. */
import { createSocket, type Socket, type SocketOptions } from 'node:dgram';
import type { Server } from 'node:net';

/** Starts a TCP (or HTTP) server on address:port; rejects with a message naming `what`. */
export function listenOn(server: Server, port: number, address: string, what: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((err: Error) => {
    throw new Error(`cannot listen for ${what} on ${address}:${port}: ${err.message}`);
  });
}

/**
 * A UDP socket bound to address:port (port 0: any free one); later errors are ignored unless the
 * caller adds its own listener. `options` go to dgram.createSocket (e.g. a custom `lookup`).
 */
export function bindUdp(
  address: string | undefined,
  port = 0,
  options: Omit<SocketOptions, 'type'> = {},
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket({ ...options, type: 'udp4' });
    s.once('error', (err) => {
      s.close();
      reject(err);
    });
    s.bind(port, address, () => {
      s.removeAllListeners('error');
      s.on('error', () => {});
      resolve(s);
    });
  });
}
