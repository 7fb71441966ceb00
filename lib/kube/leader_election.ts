/**
 * Leader election over a `coordination.k8s.io/v1` Lease, as client-go does
 * it: lease 15 s, renew deadline 10 s, retry 2 s, optimistic concurrency on
 * `resourceVersion` (a 409 means someone else won). Another holder's lease
 * is judged by the local time at which its record was last seen to change,
 * never by the server's timestamps (clocks differ).
 *
 * The leader renews every retry period; when a renewal round has not
 * succeeded within the renew deadline it gives up at once (its term's signal
 * aborts), which is before the lease it last renewed can expire, so a
 * standby never takes over while it still works. On shutdown the caller
 * flushes, then {@linkcode LeaderElector.release}s: the holder is cleared and
 * a standby takes over at its next retry.
 *
 * @module
 */

import { type Clock, deadline } from "../base/clock.ts";
import { errorText } from "../base/errors.ts";
import { type KubeConnection, KubeError } from "./kubeconfig.ts";
import { kubeRequest } from "./api_request.ts";
import { apiStatusText } from "./api_errors.ts";
import { logger } from "../base/logging.ts";

const log = logger("leader");

/** A Lease as the elector uses it. */
export interface LeaseRecord {
  /** `spec.holderIdentity`; `""` when released. */
  readonly holder: string;
  /** `spec.leaseDurationSeconds`. */
  readonly leaseDurationSeconds: number;
  /** `spec.acquireTime` (RFC 3339, microseconds). */
  readonly acquireTime: string;
  /** `spec.renewTime`. */
  readonly renewTime: string;
  /** `spec.leaseTransitions`. */
  readonly transitions: number;
  /** `metadata.resourceVersion`; `""` for a record not yet created. */
  readonly resourceVersion: string;
}

/** Where the Lease lives. */
export interface LeaseStore {
  /**
   * The Lease, or `undefined` when it does not exist (404).
   *
   * @param signal aborts the request
   * @throws {KubeError} on any other failure
   */
  get(signal: AbortSignal): Promise<LeaseRecord | undefined>;
  /**
   * Creates the Lease.
   *
   * @returns the stored record, or `"conflict"` when someone else created it first (409)
   * @throws {KubeError} on any other failure
   */
  create(rec: LeaseRecord, signal: AbortSignal): Promise<LeaseRecord | "conflict">;
  /**
   * Replaces the Lease if its `resourceVersion` is still `rec.resourceVersion`.
   *
   * @returns the stored record, or `"conflict"` (409: it changed meanwhile)
   * @throws {KubeError} on any other failure
   */
  update(rec: LeaseRecord, signal: AbortSignal): Promise<LeaseRecord | "conflict">;
}

/** A time as a Lease's MicroTime: RFC 3339 with 6 fractional digits. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

interface LeaseObject {
  metadata?: { resourceVersion?: string };
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

function fromObject(o: LeaseObject): LeaseRecord {
  return {
    holder: o.spec?.holderIdentity ?? "",
    leaseDurationSeconds: o.spec?.leaseDurationSeconds ?? 0,
    acquireTime: o.spec?.acquireTime ?? "",
    renewTime: o.spec?.renewTime ?? "",
    transitions: o.spec?.leaseTransitions ?? 0,
    resourceVersion: o.metadata?.resourceVersion ?? "",
  };
}

/**
 * The Lease through the API server (RBAC: get, create, update on leases in
 * its namespace).
 *
 * @param conn the connection
 * @param namespace the Lease's namespace
 * @param name the Lease's name
 * @returns the store
 */
export function kubeLeaseStore(conn: KubeConnection, namespace: string, name: string): LeaseStore {
  const base = `${conn.server}/apis/coordination.k8s.io/v1/namespaces/${
    encodeURIComponent(namespace)
  }/leases`;
  const what = (verb: string) => `${verb} lease ${namespace}/${name}`;
  const body = (rec: LeaseRecord) => ({
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: {
      name,
      namespace,
      ...(rec.resourceVersion !== "" ? { resourceVersion: rec.resourceVersion } : {}),
    },
    spec: {
      holderIdentity: rec.holder,
      leaseDurationSeconds: rec.leaseDurationSeconds,
      acquireTime: rec.acquireTime,
      renewTime: rec.renewTime,
      leaseTransitions: rec.transitions,
    },
  });
  const answer = async (res: Response, verb: string): Promise<LeaseRecord | "conflict"> => {
    if (res.status === 200 || res.status === 201) return fromObject(await res.json());
    const text = await res.text().catch(() => "");
    if (res.status === 409) return "conflict";
    throw new KubeError(`${what(verb)}: ${apiStatusText(res.status, text)}`, res.status);
  };
  return {
    async get(signal) {
      const res = await kubeRequest(conn, "GET", `${base}/${name}`, signal, what("reading"));
      if (res.status === 404) {
        await res.body?.cancel();
        return undefined;
      }
      if (res.status === 200) return fromObject(await res.json());
      const text = await res.text().catch(() => "");
      throw new KubeError(`${what("reading")}: ${apiStatusText(res.status, text)}`, res.status);
    },
    async create(rec, signal) {
      const res = await kubeRequest(conn, "POST", base, signal, what("creating"), body(rec));
      return await answer(res, "creating");
    },
    async update(rec, signal) {
      const res = await kubeRequest(
        conn,
        "PUT",
        `${base}/${name}`,
        signal,
        what("renewing"),
        body(rec),
      );
      return await answer(res, "renewing");
    },
  };
}

/** Durations of the election (client-go's defaults). */
export interface LeaderTiming {
  /** How long a lease lasts without renewal. @default 15000 */
  readonly leaseMs: number;
  /** How long a leader keeps trying to renew before giving up. @default 10000 */
  readonly renewDeadlineMs: number;
  /** Between two tries (a standby's GET, a leader's renewal). @default 2000 */
  readonly retryMs: number;
  /**
   * The source of the standby's retry jitter: a number in [0, 1) (tests pass
   * a fixed one). @default Math.random
   */
  readonly random?: () => number;
}

/** client-go's defaults. */
export const DEFAULT_TIMING: LeaderTiming = Object.freeze({
  leaseMs: 15_000,
  renewDeadlineMs: 10_000,
  retryMs: 2_000,
});

/** What `/metrics` and `/readyz` read of the election. */
export interface LeaderView {
  /** This replica's identity. */
  readonly identity: string;
  /** Whether this replica leads now. */
  readonly isLeader: boolean;
  /** The holder last seen in the Lease (`""`: none). */
  readonly holder: string;
  /** When the Lease was last read or written successfully (ms since the epoch). */
  readonly lastContactMs: number | undefined;
  /** Since when this replica leads (ms since the epoch). */
  readonly leaderSinceMs: number | undefined;
  /** The last failure to reach the Lease, if the last try failed. */
  readonly lastError: string | undefined;
  /** The retry period (readiness allows 3 of them without contact). */
  readonly retryMs: number;
}

/** Runs the election for one replica. */
export class LeaderElector implements LeaderView {
  readonly identity: string;
  readonly retryMs: number;
  readonly #store: LeaseStore;
  readonly #clock: Clock;
  readonly #timing: LeaderTiming;
  #observed: LeaseRecord | undefined;
  #observedAtMs = 0;
  #isLeader = false;
  #leaderSinceMs: number | undefined;
  #lastContactMs: number | undefined;
  #lastError: string | undefined;

  /**
   * @param store the Lease
   * @param identity this replica (pod name and a random suffix)
   * @param clock time
   * @param timing durations @default client-go's
   */
  constructor(store: LeaseStore, identity: string, clock: Clock, timing = DEFAULT_TIMING) {
    this.#store = store;
    this.identity = identity;
    this.#clock = clock;
    this.#timing = timing;
    this.retryMs = timing.retryMs;
  }

  get isLeader(): boolean {
    return this.#isLeader;
  }

  get holder(): string {
    return this.#observed?.holder ?? "";
  }

  get lastContactMs(): number | undefined {
    return this.#lastContactMs;
  }

  get leaderSinceMs(): number | undefined {
    return this.#leaderSinceMs;
  }

  get lastError(): string | undefined {
    return this.#lastError;
  }

  /**
   * Campaigns until `stop`; each time this replica wins, `lead` runs with a
   * signal that aborts the moment leadership is lost (or at `stop`). Returns
   * once `stop` aborted and the current term (if any) ended; the Lease is
   * not released (call {@linkcode release} after the final flush).
   *
   * @param stop shutdown
   * @param lead the leader's work for one term
   */
  async run(stop: AbortSignal, lead: (term: AbortSignal) => Promise<void>): Promise<void> {
    while (!stop.aborted) {
      if (!(await this.#try(stop, this.#timing.retryMs))) {
        await this.#clock.sleep(this.#jittered(), stop);
        continue;
      }
      this.#isLeader = true;
      this.#leaderSinceMs = this.#clock.now();
      log.info("became the leader (lease {lease} s): {identity}", {
        identity: this.identity,
        lease: this.#timing.leaseMs / 1000,
      });
      const term = new AbortController();
      const onStop = () => term.abort(stop.reason);
      stop.addEventListener("abort", onStop, { once: true });
      let failed: { error: unknown } | undefined;
      // the term's work failing ends the term (and the run: the caller sees the error)
      const work = lead(term.signal).catch((error) => {
        failed = { error };
        term.abort(error);
      });
      await this.#renewUntilLost(term.signal);
      if (!stop.aborted && failed === undefined) {
        this.#isLeader = false;
        this.#leaderSinceMs = undefined;
        term.abort(new Error("leadership lost"));
        log.error(
          "lost the leadership: the lease could not be renewed within {deadline} s ({error}); " +
            "stopped publishing before it expires; standing by",
          { deadline: this.#timing.renewDeadlineMs / 1000, error: this.#lastError ?? "unknown" },
        );
      }
      stop.removeEventListener("abort", onStop);
      await work;
      if (failed !== undefined) throw failed.error;
    }
  }

  /**
   * Gives the Lease up (holder cleared, 1 s duration) so a standby takes over
   * at its next retry. Best effort within `signal`.
   *
   * @param signal the deadline
   */
  async release(signal: AbortSignal): Promise<void> {
    if (!this.#isLeader || this.#observed === undefined) return;
    const now = this.#clock.now();
    try {
      const r = await this.#store.update({
        ...this.#observed,
        holder: "",
        leaseDurationSeconds: 1,
        renewTime: microTime(now),
      }, signal);
      if (r === "conflict") throw new Error("the Lease changed meanwhile (409)");
      this.#observed = r;
      log.info("released the lease: a standby takes over at its next retry");
    } catch (e) {
      log.warn("could not release the lease ({error}): a standby takes over when it expires", {
        error: errorText(e),
      });
    } finally {
      this.#isLeader = false;
      this.#leaderSinceMs = undefined;
    }
  }

  /** Renews every retry period until a round fails for the renew deadline, or the term ends. */
  async #renewUntilLost(term: AbortSignal): Promise<void> {
    while (!term.aborted) {
      await this.#clock.sleep(this.#timing.retryMs, term);
      if (term.aborted) return;
      const roundEnd = this.#clock.now() + this.#timing.renewDeadlineMs;
      for (;;) {
        const left = roundEnd - this.#clock.now();
        if (left <= 0) return; // lost
        if (await this.#try(term, left)) break;
        if (term.aborted) return;
        const wait = Math.min(this.#timing.retryMs, roundEnd - this.#clock.now());
        if (wait <= 0) return;
        await this.#clock.sleep(wait, term);
        if (term.aborted) return;
      }
    }
  }

  /** One try at acquiring or renewing, bounded by `ms`. */
  async #try(parent: AbortSignal, ms: number): Promise<boolean> {
    const d = deadline(this.#clock, parent, ms);
    try {
      const ok = await this.#tryAcquireOrRenew(d.signal);
      this.#lastError = undefined;
      return ok;
    } catch (e) {
      this.#lastError = errorText(e);
      log.debug("lease: {error}", { error: this.#lastError });
      return false;
    } finally {
      d.release();
    }
  }

  async #tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const now = () => this.#clock.now();
    const current = await this.#store.get(signal);
    this.#lastContactMs = now();
    const t = microTime(now());
    const mine = {
      holder: this.identity,
      leaseDurationSeconds: this.#timing.leaseMs / 1000,
      renewTime: t,
    };
    if (current === undefined) {
      const made = await this.#store.create(
        { ...mine, acquireTime: t, transitions: 0, resourceVersion: "" },
        signal,
      );
      if (made === "conflict") return false;
      this.#observe(made);
      return true;
    }
    this.#observe(current);
    const heldByOther = current.holder !== "" && current.holder !== this.identity;
    if (heldByOther && this.#observedAtMs + current.leaseDurationSeconds * 1000 > now()) {
      return false;
    }
    const renewing = current.holder === this.identity;
    const updated = await this.#store.update({
      ...current,
      ...mine,
      acquireTime: renewing ? current.acquireTime : t,
      transitions: renewing ? current.transitions : current.transitions + 1,
    }, signal);
    if (updated === "conflict") return false;
    this.#lastContactMs = now();
    this.#observe(updated);
    if (!renewing && current.holder !== "") {
      log.info("took over the lease from {previous}, which stopped renewing it", {
        previous: current.holder,
      });
    }
    return true;
  }

  /** Notes a record; a change of it restarts the other holder's clock. */
  #observe(rec: LeaseRecord): void {
    const o = this.#observed;
    if (
      o === undefined || o.resourceVersion !== rec.resourceVersion || o.holder !== rec.holder ||
      o.renewTime !== rec.renewTime
    ) {
      if (o?.holder !== rec.holder && rec.holder !== this.identity) {
        log.info("lease holder: {holder}", { holder: rec.holder === "" ? "none" : rec.holder });
      }
      this.#observedAtMs = this.#clock.now();
    }
    this.#observed = rec;
  }

  /** The retry period with up to 20 % jitter (client-go's JitterFactor 1.2). */
  #jittered(): number {
    return this.#timing.retryMs * (1 + 0.2 * (this.#timing.random ?? Math.random)());
  }
}
