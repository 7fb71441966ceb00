/**
 * Free /28 blocks of a subnet for prefix delegation (pure): the aligned /28
 * blocks of its IPv4 CIDR in which no address is used. Used: the first four
 * and the last address (AWS reserves them), every private IPv4 address and
 * assigned /28 (or other) prefix of the subnet's network interfaces, and
 * every CIDR reservation (explicit and prefix) of the subnet. A subnet can
 * show hundreds of free IPs and no free /28 when they are scattered: pods
 * then fail with `InsufficientCidrBlocks`.
 *
 * @module
 */

/** An IPv4 CIDR as numbers. */
export interface Ipv4Range {
  /** First address, as an unsigned 32-bit number. */
  readonly start: number;
  /** Prefix length, 0 to 32. */
  readonly bits: number;
}

/**
 * Parses `a.b.c.d` into an unsigned 32-bit number.
 *
 * @param text the address
 * @returns the number
 * @throws {SyntaxError} naming the text when it is not a dotted IPv4 address
 */
export function parseIpv4(text: string): number {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^[0-9]{1,3}$/.test(p) && Number(p) <= 255)) {
    throw new SyntaxError(`not an IPv4 address: ${JSON.stringify(text.slice(0, 40))}`);
  }
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

/**
 * Parses `a.b.c.d/n` (a plain address is a /32).
 *
 * @param text the CIDR
 * @returns its first address and prefix length (the address masked to it)
 * @throws {SyntaxError} naming the text when it is not an IPv4 CIDR
 */
export function parseCidr(text: string): Ipv4Range {
  const [addr, len, extra] = text.split("/");
  const bits = len === undefined ? 32 : /^[0-9]{1,2}$/.test(len) ? Number(len) : NaN;
  if (addr === undefined || extra !== undefined || !(bits >= 0 && bits <= 32)) {
    throw new SyntaxError(`not an IPv4 CIDR: ${JSON.stringify(text.slice(0, 40))}`);
  }
  const size = 2 ** (32 - bits);
  return { start: Math.floor(parseIpv4(addr) / size) * size, bits };
}

/** What is used in a subnet. */
export interface SubnetUse {
  /** The subnet's IPv4 CIDR, e.g. `10.0.16.0/20`. */
  readonly cidr: string;
  /** Private IPv4 addresses of its network interfaces (primary and secondary). */
  readonly addresses: readonly string[];
  /** IPv4 prefixes assigned to its network interfaces (`/28` under prefix delegation). */
  readonly prefixes: readonly string[];
  /** Its CIDR reservations (explicit and prefix), as CIDRs. */
  readonly reservations: readonly string[];
}

/** Addresses AWS reserves at the start of every subnet (network, router, DNS, future). */
const RESERVED_AT_START = 4;

/**
 * The aligned /28 blocks of a subnet with no used address.
 *
 * @param use the subnet's CIDR and what is used in it
 * @returns how many /28 blocks are free (0 for a subnet smaller than a /28)
 * @throws {SyntaxError} naming an address or CIDR that cannot be read
 */
export function freePrefixes(use: SubnetUse): number {
  const subnet = parseCidr(use.cidr);
  if (subnet.bits > 28) return 0;
  const blocks = 2 ** (28 - subnet.bits);
  const used = new Uint8Array(blocks);
  const end = subnet.start + 2 ** (32 - subnet.bits);
  /** Marks every /28 block that `[from, to)` touches, within the subnet. */
  const mark = (from: number, to: number) => {
    const a = Math.max(from, subnet.start);
    const b = Math.min(to, end);
    for (let block = Math.floor((a - subnet.start) / 16); block * 16 + subnet.start < b; block++) {
      used[block] = 1;
    }
  };
  mark(subnet.start, subnet.start + RESERVED_AT_START);
  mark(end - 1, end);
  for (const a of use.addresses) {
    const n = parseIpv4(a);
    mark(n, n + 1);
  }
  for (const c of [...use.prefixes, ...use.reservations]) {
    const r = parseCidr(c);
    mark(r.start, r.start + 2 ** (32 - r.bits));
  }
  let free = 0;
  for (const u of used) if (u === 0) free++;
  return free;
}
