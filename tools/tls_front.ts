/**
 * A TLS terminator for benchmarks: accepts TLS (the test CA's server
 * certificate, HTTP/1.1 by ALPN) on a free port of 127.0.0.1 and pipes each
 * connection to a plain TCP backend, counting handshakes, open connections
 * and the bytes sent to clients. `Deno.serve`'s own TLS answers small bodies
 * after a ~44 ms stall (DESIGN.md, "Known traps"); a plain `Deno.serve`
 * behind this one does not.
 *
 * @module
 */

import { certFile } from "./fake_apiserver.ts";

/** The running terminator. */
export class TlsFront {
  /** TLS handshakes completed. */
  handshakes = 0;
  /** Connections open now. */
  open = 0;
  /** Bytes sent to clients. */
  bytesOut = 0;
  readonly #listener: Deno.TlsListener;
  readonly #backendPort: number;
  readonly #conns = new Set<Deno.Conn>();
  readonly #serving: Promise<void>;

  /**
   * @param backendPort the plain backend on 127.0.0.1
   */
  constructor(backendPort: number) {
    this.#backendPort = backendPort;
    this.#listener = Deno.listenTls({
      hostname: "127.0.0.1",
      port: 0,
      cert: certFile("server.crt"),
      key: certFile("server.key"),
      alpnProtocols: ["http/1.1"],
    });
    this.#serving = this.#accept();
  }

  /** `https://127.0.0.1:<port>` */
  get url(): string {
    return `https://127.0.0.1:${(this.#listener.addr as Deno.NetAddr).port}`;
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) void this.#pipe(conn);
    } catch {
      // closed
    }
  }

  async #pipe(conn: Deno.TlsConn): Promise<void> {
    let back: Deno.TcpConn | undefined;
    try {
      await conn.handshake();
      this.handshakes++;
      this.open++;
      this.#conns.add(conn);
      back = await Deno.connect({ hostname: "127.0.0.1", port: this.#backendPort });
      this.#conns.add(back);
      const count = new TransformStream<Uint8Array, Uint8Array>({
        transform: (chunk, ctl) => {
          this.bytesOut += chunk.byteLength;
          ctl.enqueue(chunk);
        },
      });
      await Promise.allSettled([
        conn.readable.pipeTo(back.writable),
        back.readable.pipeThrough(count).pipeTo(conn.writable),
      ]);
    } catch {
      // a client that went away
    } finally {
      if (this.#conns.delete(conn)) this.open--;
      for (const c of [conn, back]) {
        try {
          c?.close();
        } catch {
          // already closed
        }
      }
      if (back !== undefined) this.#conns.delete(back);
    }
  }

  /** Stops accepting and closes every connection. */
  async close(): Promise<void> {
    this.#listener.close();
    for (const c of this.#conns) {
      try {
        c.close();
      } catch {
        // already closed
      }
    }
    await this.#serving;
  }
}
