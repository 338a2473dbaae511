// Cross-reference checks and defaults: turns the structurally valid value into resolved services. Runs even
// when the structure had problems, on whatever was valid, so one run reports everything.
import { dirname, isAbsolute, join } from 'node:path';
import { SpiffeId } from '../spiffe/id.js';
import { matchMemberOf, matchOneOf, type SpiffeIdMatcher } from '../spiffe/matcher.js';
import { TrustDomain } from '../spiffe/trust-domain.js';
import {
  DEFAULT_MODE,
  type AllowedCallers,
  type BundleEndpoint,
  type CallerRule,
  type Federation,
  type Gateway,
  type GatewayListener,
  type GatewayRoute,
  type InboundPort,
  type IstioDestination,
  type Mode,
  type Outbound,
  type Service,
  type SourcePosition,
  type Target,
} from './model.js';
import { isTrustplanePath } from '../trustplane-ids.js';
import { problem, suggestKey, type MeshProblem, type MeshProblemCode } from './problems.js';
import type { RequireJwt } from './model.js';
import type { RawCaller, RawFederation, RawGateway, RawInbound, RawMesh, RawOutbound, RawService } from './raw.js';
import { childPath } from './structure.js';
import { meshCounters } from './counters.js';
import { Journal } from './journal.js';

function callerMatcher(ids: readonly SpiffeId[], tds: readonly TrustDomain[]): SpiffeIdMatcher {
  const exact = matchOneOf(...ids);
  const members = tds.map(matchMemberOf);
  return (id) => exact(id) || members.some((m) => m(id));
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/** Where a proxyless gRPC server listens unless its description says: loopback, reachable by nothing else. */
export const GRPC_DEFAULT_LISTEN_ADDRESS = '127.0.0.1';

/** Istio's default trust domain (meshConfig.trustDomain). */
export const ISTIO_DEFAULT_TRUST_DOMAIN = 'cluster.local';

/** Targets whose builders honour an external dependency's istio, sni and alpn (the sidecar's use its own rules). */
const UPSTREAM_TLS_TARGETS: readonly Target[] = ['vm', 'gateway'];

/** A service resolved except for its outbound dependencies, which need every service's inbound side first. */
type Partial = Omit<Service, 'outbound'> & { raw: RawService };

/**
 * What resolving one service item read, kept from the last resolve without a problem, by its raw value. The
 * structural check hands back the same raw value for an unchanged item (structure.ts), so a reload resolves only
 * the items whose text changed or whose lookups into other services now answer differently; the others keep their
 * resolved (frozen) objects, and everything downstream can tell "unchanged" by identity.
 */
interface Resolution {
  /** Everything about the description as a whole that resolving an item reads (trust domains, default mode). */
  readonly context: string;
  readonly path: string;
  readonly partial: Partial;
  /** The services the item's allowedCallers looked up by name, and what each answered (existence, SPIFFE ID). */
  readonly callerLookups: readonly (readonly [string, unknown])[];
  readonly service?: Service;
  /** The resolved servers its outbound (and gateway routes) looked up by name, and what each answered. */
  readonly serverLookups?: readonly (readonly [string, unknown])[];
}
const resolutions = new WeakMap<RawService, Resolution>();

/**
 * A part of a service resolved from one raw list (its allowedCallers, its outbound dependencies), kept by that list:
 * the structural check hands back the same array for a list whose text did not change, so a service resolved again
 * because another of its fields changed takes the part whole when its place, the description's context and what
 * it looked up are the same. Kept only when resolving the part reported no problem.
 */
interface PartMemo<V> {
  readonly path: string;
  readonly context: string;
  readonly lookups: readonly (readonly [string, unknown])[];
  readonly value: V;
}
const callersMemo = new WeakMap<readonly unknown[], PartMemo<AllowedCallers>>();
const outboundMemo = new WeakMap<readonly unknown[], PartMemo<Outbound[]>>();

/** Whether a server looked up by a mesh dependency answers the same as far as meshDependency() reads it. */
function sameServer(a: Partial | undefined, b: Partial | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  if (a.name !== b.name || a.address !== b.address || a.inbound.length !== b.inbound.length) return false;
  if (a.spiffeId !== b.spiffeId && !(a.spiffeId !== undefined && a.spiffeId.equals(b.spiffeId))) return false;
  for (let k = 0; k < a.inbound.length; k++) {
    const x = a.inbound[k]!;
    const y = b.inbound[k]!;
    if (x.port !== y.port || x.protocol !== y.protocol || x.mode !== y.mode) return false;
  }
  return true;
}

/**
 * The last resolve without a problem of a description read by the fast reader, with its indexes: the next one
 * patches it (resolve only the items that changed and those whose lookups name them) instead of walking every item.
 * Its maps are patched in place under a Journal and the patches taken back when the new description has a problem.
 */
interface ResolveState {
  readonly context: string;
  readonly raws: readonly RawService[];
  readonly partials: readonly Partial[];
  readonly services: readonly Service[];
  /** The names each item's allowedCallers (caller) and outbound side (server) looked up. */
  readonly lookups: readonly { readonly caller: readonly string[]; readonly server: readonly string[] }[];
  readonly rawByName: Map<string, RawService>;
  readonly partialByName: Map<string, Partial>;
  readonly rawById: Map<string, RawService>;
  /** Reverse dependencies: the items (by index) whose allowedCallers, and whose outbound side, looked a name up. */
  readonly callerDeps: Map<string, Set<number>>;
  readonly serverDeps: Map<string, Set<number>>;
}
let lastState: ResolveState | undefined;

/** What a resolve changed against the last one (the services not given the same objects again). */
export interface ServiceDelta {
  /** The services of the resolve this one patched. */
  readonly previous: readonly Service[];
  /** The services of the last resolve that are gone or replaced by a new object. */
  readonly removed: readonly Service[];
  /** Indexes (in the new services) of the services that are new objects. */
  readonly changed: readonly number[];
}

/** What a lookup answered, as far as its reader uses it: the value itself unless said otherwise. */
type Projection = (v: unknown) => unknown;
const itself: Projection = (v) => v;
/** allowedCallers reads of another service only whether it exists and its SPIFFE ID. */
const callerView: Projection = (v) => {
  if (v === undefined) return undefined;
  const id = (v as { spiffeId?: SpiffeId }).spiffeId;
  return id === undefined ? '' : id.toString();
};

/** A name lookup that remembers what it answered (a class: one shape, no closures per lookup table). */
class Recording<V> {
  constructor(
    readonly base: ReadonlyMap<string, V>,
    readonly log: (readonly [string, unknown])[],
    readonly view: Projection,
  ) {}

  get(name: string): V | undefined {
    const v = this.base.get(name);
    this.log.push([name, this.view(v)]);
    return v;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /**
   * Whether every lookup of an earlier log answers the same now (under this table's view); if so they are appended
   * to this log as if made again, else nothing is.
   */
  replay(earlier: readonly (readonly [string, unknown])[]): boolean {
    for (const [name, v] of earlier) if (this.view(this.base.get(name)) !== v) return false;
    for (const entry of earlier) this.log.push(entry);
    return true;
  }
}

function recording<V>(map: ReadonlyMap<string, V>, log: (readonly [string, unknown])[], view: Projection = itself): ReadonlyMap<string, V> {
  return new Recording(map, log, view) as unknown as ReadonlyMap<string, V>;
}

/** Whether a log of lookups named the same names, in the same order, as `names`. */
function sameNames(names: readonly string[], log: readonly (readonly [string, unknown])[]): boolean {
  if (names.length !== log.length) return false;
  for (let k = 0; k < names.length; k++) if (names[k] !== log[k]![0]) return false;
  return true;
}

const sameLookups = (log: readonly (readonly [string, unknown])[], map: ReadonlyMap<string, unknown>, view: Projection = itself): boolean =>
  log.every(([name, v]) => view(map.get(name)) === v);

export interface Resolved {
  readonly trustDomain?: TrustDomain;
  readonly defaultMode: Mode;
  readonly accessLogs: boolean;
  readonly federation: Federation[];
  readonly services: Service[];
  /** Set when this resolve patched the last one: what changed (every other service is the same object). */
  readonly delta?: ServiceDelta;
}

export class Resolver {
  readonly problems: MeshProblem[] = [];
  private known: TrustDomain[] = [];
  private ownValid = true;
  /** Everything about the description as a whole that resolving one item reads (see resolve()). */
  private context = '';

  constructor(
    private readonly file: string,
    /** Where paths start in the file (and whether they were written at all). */
    private readonly positions: { get(path: string): SourcePosition | undefined; has(path: string): boolean; hasKey(path: string, key: string): boolean },
    /**
     * The structural check found no problem: then every key written in the file is in the checked value and
     * nothing else is, so "was it written" is answered by the value without looking the path up in the tree.
     */
    private readonly clean = false,
  ) {}

  /**
   * Whether `key` was written (with any value, even an invalid one) in the map whose checked value is `obj`, at the
   * path `at()` gives (built only when the tree must be asked).
   */
  private written(obj: object | undefined, key: string, at: () => string): boolean {
    if (obj !== undefined && (obj as Record<string, unknown>)[key] !== undefined) return true;
    return !this.clean && this.positions.hasKey(at(), key);
  }

  /** Position of a path, or of its nearest ancestor that was in the file. */
  private at(path: string): SourcePosition {
    for (let p = path; ; p = p.replace(/(\.[^.[\]]+|\[\d+\])$/, '')) {
      const pos = this.positions.get(p);
      if (pos) return pos;
      if (p === '') return { line: 1, column: 1 };
    }
  }

  private report(code: MeshProblemCode, path: string, message: string, found?: string, accepted?: string): void {
    const { line, column } = this.at(path);
    this.problems.push(problem({ code, file: this.file, line, column, path, message, found, accepted }));
  }

  private where(path: string): string {
    return `${path} (line ${this.at(path).line})`;
  }

  /**
   * `incremental`: the description was read by the fast reader and has no structural problem, so this resolve may
   * patch the last one remembered, and is remembered itself when it has no problem.
   */
  resolve(raw: RawMesh, incremental = false): Resolved {
    const defaultMode = raw.defaultMode ?? DEFAULT_MODE;
    const federation = this.federation(raw);
    this.ownValid = raw.trustDomain !== undefined;
    this.known = [raw.trustDomain, ...federation.map((f) => f.trustDomain)].filter((t) => t !== undefined);
    const context = [defaultMode, this.ownValid, ...this.known.map((t) => t.name)].join('\0');
    this.context = context;
    if (incremental && lastState?.context === context && raw.trustDomain && this.problems.length === 0) {
      const services = this.#patch(raw.services ?? [], lastState, raw.trustDomain, defaultMode);
      if (services) return { trustDomain: raw.trustDomain, defaultMode, accessLogs: raw.accessLogs ?? true, federation, ...services };
    }
    this.services = (raw.services ?? []).filter((s) => s !== undefined);
    this.servicesByName = new Map();
    for (const s of this.services) if (s.name !== undefined && !this.servicesByName.has(s.name)) this.servicesByName.set(s.name, s);
    const partials: Partial[] = [];
    const byName = new Map<string, Partial>();
    const byId = new Map<string, string>();
    const fresh = new Map<RawService, Resolution>();
    (raw.services ?? []).forEach((rs, i) => {
      if (rs === undefined) return;
      const path = childPath('services', i);
      const p = this.partial(rs, path, raw.trustDomain, defaultMode, context, fresh);
      if (rs.name !== undefined) {
        const first = byName.get(rs.name);
        if (first) this.report('DUPLICATE_SERVICE_NAME', `${path}.name`, `service name "${rs.name}" is already used by ${this.where(first.path)}`);
        else byName.set(rs.name, p);
      }
      if (rs.spiffeId !== undefined) {
        const id = rs.spiffeId.toString();
        const first = byId.get(id);
        if (first) this.report('DUPLICATE_SPIFFE_ID', `${path}.spiffeId`, `SPIFFE ID ${id} is already the identity of ${this.where(first)}`);
        else byId.set(id, path);
      }
      partials.push(p);
    });
    const reused = new Set<Service>();
    const services = partials.map((p) => {
      const memo = resolutions.get(p.raw);
      const kept = fresh.get(p.raw) ?? memo;
      if (kept?.partial === p && kept.service && kept.serverLookups && sameLookups(kept.serverLookups, byName)) {
        meshCounters.servicesReused++;
        reused.add(kept.service);
        if (!fresh.has(p.raw)) fresh.set(p.raw, kept);
        return kept.service;
      }
      meshCounters.servicesResolved++;
      const { raw: rs, ...s } = p;
      const serverLookups: (readonly [string, unknown])[] = [];
      const servers = recording(byName, serverLookups);
      const outbound = this.outbound(rs, s.path, servers);
      this.checkTarget(rs, s.target, s.path);
      const gateway = s.target === 'gateway' && rs.gateway ? this.gateway(rs.gateway, `${s.path}.gateway`, outbound, servers) : undefined;
      const service: Service = gateway ? { ...s, outbound, gateway } : { ...s, outbound };
      const r = fresh.get(rs);
      // A new record: the one remembered stays as it was unless this resolve ends without a problem.
      if (r?.partial === p) fresh.set(rs, { ...r, service, serverLookups });
      return service;
    });
    // A reused service was checked without a problem when it was resolved, and its ports are its own.
    for (const s of services) if (!reused.has(s)) this.checkPorts(s);
    // Only a resolve without a problem is remembered: a description with one is read again by the other reader.
    if (this.problems.length === 0) for (const [rs, r] of fresh) if (r.service) resolutions.set(rs, r);
    if (incremental && this.problems.length === 0) lastState = this.#state(context, partials, services, byName, fresh);
    return { trustDomain: raw.trustDomain, defaultMode, accessLogs: raw.accessLogs ?? true, federation, services };
  }

  /**
   * The state a full resolve leaves for the next one to patch. The reverse dependencies of the last state are kept
   * (patched for the items whose lookups named other services) when the items are as many and most looked up the
   * same names: a reload that changes every service's port rebuilds none of them.
   */
  #state(context: string, partials: Partial[], services: Service[], partialByName: Map<string, Partial>, fresh: Map<RawService, Resolution>): ResolveState {
    const raws = partials.map((p) => p.raw);
    const rawById = new Map<string, RawService>();
    for (const r of raws) if (r.spiffeId) rawById.set(r.spiffeId.toString(), r);
    const n = raws.length;
    const prev = lastState?.lookups.length === n ? lastState : undefined;
    const lookups: ResolveState['lookups'][number][] = new Array(n);
    const moved: number[] = [];
    for (let i = 0; i < n; i++) {
      const res = fresh.get(raws[i]!)!;
      const old = prev?.lookups[i];
      if (old && sameNames(old.caller, res.callerLookups) && sameNames(old.server, res.serverLookups ?? [])) lookups[i] = old;
      else {
        lookups[i] = { caller: res.callerLookups.map(([name]) => name), server: (res.serverLookups ?? []).map(([name]) => name) };
        moved.push(i);
      }
    }
    const link = (deps: Map<string, Set<number>>, name: string, i: number) => {
      let set = deps.get(name);
      if (!set) deps.set(name, (set = new Set()));
      set.add(i);
    };
    let callerDeps: Map<string, Set<number>>;
    let serverDeps: Map<string, Set<number>>;
    if (prev && moved.length <= Math.max(64, n / 4)) {
      // The last state is replaced by this one: its maps are patched in place.
      ({ callerDeps, serverDeps } = prev);
      for (const i of moved) {
        for (const name of prev.lookups[i]!.caller) callerDeps.get(name)?.delete(i);
        for (const name of prev.lookups[i]!.server) serverDeps.get(name)?.delete(i);
        for (const name of lookups[i]!.caller) link(callerDeps, name, i);
        for (const name of lookups[i]!.server) link(serverDeps, name, i);
      }
    } else {
      callerDeps = new Map();
      serverDeps = new Map();
      lookups.forEach((l, i) => {
        for (const name of l.caller) link(callerDeps, name, i);
        for (const name of l.server) link(serverDeps, name, i);
      });
    }
    return { context, raws, partials, services, lookups, rawByName: this.servicesByName as Map<string, RawService>, partialByName, rawById, callerDeps, serverDeps };
  }

  /**
   * The services of `items` by patching the last resolve `S` (same context): the items that are not the same raw
   * objects at the same places are resolved, then the items whose allowedCallers looked up a name whose answer
   * changed, then the outbound sides that looked up a changed service; every other service is the last one's
   * object. Undefined when too much changed to be worth it (the caller resolves every item).
   */
  #patch(items: readonly (RawService | undefined)[], S: ResolveState, own: TrustDomain, defaultMode: Mode): { services: Service[]; delta: ServiceDelta } | undefined {
    const n = items.length;
    const m = S.raws.length;
    // Same count: the items that differ by place. Otherwise every item from the first difference on (paths moved).
    const added: number[] = [];
    const removed: number[] = [];
    let p = 0;
    if (n === m) {
      for (let i = 0; i < n; i++) if (items[i] !== S.raws[i]) added.push(i);
      removed.push(...added);
      p = n;
    } else {
      while (p < n && p < m && items[p] === S.raws[p]) p++;
      for (let i = p; i < n; i++) added.push(i);
      for (let i = p; i < m; i++) removed.push(i);
    }
    if (added.length + removed.length > Math.max(64, n / 4)) return undefined;
    for (const i of added) {
      const r = items[i];
      if (r?.name === undefined || r.spiffeId === undefined) return undefined;
    }
    meshCounters.deltaResolves++;
    const raws = items as readonly RawService[];
    const j = new Journal();
    // Arrays of the new layout: the last one's up to the first moved item (all of it when none moved).
    const partials = S.partials.slice(0, p);
    const services = S.services.slice(0, p);
    const lookups = S.lookups.slice(0, p);
    const unlink = (deps: Map<string, Set<number>>, names: readonly string[], i: number) => {
      for (const name of names) {
        const set = deps.get(name);
        if (set) j.remove(set, i);
      }
    };
    const link = (deps: Map<string, Set<number>>, names: readonly string[], i: number) => {
      for (const name of names) {
        let set = deps.get(name);
        if (!set) j.set(deps, name, (set = new Set()));
        j.add(set, i);
      }
    };
    // The names whose answer may change, and what they answered before.
    const names = new Set<string>();
    for (const i of removed) names.add(S.raws[i]!.name!);
    for (const i of added) names.add(raws[i]!.name!);
    const before = new Map<string, unknown>();
    for (const name of names) before.set(name, callerView(S.rawByName.get(name)));
    for (const i of removed) {
      const r = S.raws[i]!;
      if (S.rawByName.get(r.name!) === r) j.delete(S.rawByName, r.name!);
      if (S.partialByName.get(r.name!)?.raw === r) j.delete(S.partialByName, r.name!);
      const id = r.spiffeId!.toString();
      if (S.rawById.get(id) === r) j.delete(S.rawById, id);
      unlink(S.callerDeps, S.lookups[i]!.caller, i);
      unlink(S.serverDeps, S.lookups[i]!.server, i);
    }
    for (const i of added) {
      const r = raws[i]!;
      const path = childPath('services', i);
      const first = S.rawByName.get(r.name!);
      if (first) this.report('DUPLICATE_SERVICE_NAME', `${path}.name`, `service name "${r.name}" is already used`);
      else j.set(S.rawByName, r.name!, r);
      const id = r.spiffeId!.toString();
      if (S.rawById.has(id)) this.report('DUPLICATE_SPIFFE_ID', `${path}.spiffeId`, `SPIFFE ID ${id} is already used`);
      else j.set(S.rawById, id, r);
    }
    // Partials: the added items, and those whose allowedCallers read a name that answers differently now.
    const addedSet = new Set(added);
    const partialsToDo = new Set(added);
    for (const name of names) {
      if (callerView(S.rawByName.get(name)) === before.get(name)) continue;
      for (const i of S.callerDeps.get(name) ?? []) partialsToDo.add(i);
    }
    this.servicesByName = S.rawByName;
    this.services = raws;
    for (const i of partialsToDo) {
      const rs = raws[i]!;
      if (!addedSet.has(i)) unlink(S.callerDeps, lookups[i]!.caller, i);
      const callerLookups: (readonly [string, unknown])[] = [];
      this.servicesByName = recording(S.rawByName, callerLookups, callerView) as Map<string, RawService>;
      try {
        partials[i] = this.service(rs, childPath('services', i), own, defaultMode);
      } finally {
        this.servicesByName = S.rawByName;
      }
      meshCounters.partialsResolved++;
      if (S.rawByName.get(rs.name!) === rs) j.set(S.partialByName, rs.name!, partials[i]!);
      const caller = callerLookups.map(([name]) => name);
      link(S.callerDeps, caller, i);
      lookups[i] = { caller, server: addedSet.has(i) ? [] : lookups[i]!.server };
    }
    // Services: those with a new partial, and those whose outbound side looked up a service that changed.
    const servicesToDo = new Set(partialsToDo);
    for (const i of partialsToDo) for (const d of S.serverDeps.get(raws[i]!.name!) ?? []) servicesToDo.add(d);
    for (const name of names) for (const d of S.serverDeps.get(name) ?? []) servicesToDo.add(d);
    for (const i of servicesToDo) {
      const { raw: rs, ...s } = partials[i]!;
      if (!addedSet.has(i)) unlink(S.serverDeps, lookups[i]!.server, i);
      const serverLookups: (readonly [string, unknown])[] = [];
      const servers = recording(S.partialByName, serverLookups);
      const outbound = this.outbound(rs, s.path, servers);
      this.checkTarget(rs, s.target, s.path);
      const gateway = s.target === 'gateway' && rs.gateway ? this.gateway(rs.gateway, `${s.path}.gateway`, outbound, servers) : undefined;
      const service: Service = gateway ? { ...s, outbound, gateway } : { ...s, outbound };
      this.checkPorts(service);
      services[i] = service;
      meshCounters.servicesResolved++;
      const server = serverLookups.map(([name]) => name);
      link(S.serverDeps, server, i);
      lookups[i] = { caller: lookups[i]!.caller, server };
    }
    meshCounters.servicesReused += n - servicesToDo.size;
    if (this.problems.length > 0) {
      j.rollback();
      return { services, delta: { previous: S.services, removed: [], changed: [] } };
    }
    // Old objects replaced: those resolved again in place, and every old item from the first moved one on.
    const changed = [...servicesToDo].sort((a, b) => a - b);
    const replaced = new Set([...changed.filter((i) => i < p), ...removed]);
    const delta: ServiceDelta = { previous: S.services, removed: [...replaced].map((i) => S.services[i]!), changed };
    lastState = { ...S, raws, partials, services, lookups };
    return { services, delta };
  }

  /** An item's service without its outbound side: the one resolved last time when nothing it reads changed. */
  private partial(rs: RawService, path: string, own: TrustDomain | undefined, defaultMode: Mode, context: string, fresh: Map<RawService, Resolution>): Partial {
    const memo = resolutions.get(rs);
    if (memo && memo.context === context && memo.path === path && !fresh.has(rs) && sameLookups(memo.callerLookups, this.servicesByName, callerView)) {
            fresh.set(rs, memo);
      return memo.partial;
    }
    meshCounters.partialsResolved++;
    const callerLookups: (readonly [string, unknown])[] = [];
    const byName = this.servicesByName;
    this.servicesByName = recording(byName, callerLookups, callerView) as Map<string, { name?: string; spiffeId?: SpiffeId }>;
    try {
      const partial = this.service(rs, path, own, defaultMode);
      if (!fresh.has(rs)) fresh.set(rs, { context, path, partial, callerLookups });
      return partial;
    } finally {
      this.servicesByName = byName;
    }
  }

  private federation(raw: RawMesh): Federation[] {
    const out: Federation[] = [];
    (raw.federation ?? []).forEach((f, i) => {
      const path = childPath('federation', i);
      if (f?.trustDomain === undefined) return;
      const td = f.trustDomain;
      if (raw.trustDomain?.equals(td)) {
        this.report('DUPLICATE_TRUST_DOMAIN', `${path}.trustDomain`, `trust domain "${td.name}" is the mesh's own; it needs no federation`);
        return;
      }
      const first = out.find((o) => o.trustDomain.equals(td));
      if (first) {
        this.report('DUPLICATE_TRUST_DOMAIN', `${path}.trustDomain`, `trust domain "${td.name}" is already federated at ${this.where(first.path)}`);
        return;
      }
      const bundleFile = f.bundleFile === undefined ? undefined : isAbsolute(f.bundleFile) ? f.bundleFile : join(dirname(this.file), f.bundleFile);
      const format = f.format ?? (f.bundleFile?.toLowerCase().endsWith('.json') ? 'spiffe' : 'pem');
      const bundleEndpoint = f.bundleEndpoint && this.bundleEndpoint(f.bundleEndpoint, td, bundleFile !== undefined, `${path}.bundleEndpoint`, raw);
      out.push({ trustDomain: td, bundleFile, format, path, ...(bundleEndpoint ? { bundleEndpoint } : {}) });
    });
    return out;
  }


  // SPIFFE Federation §5.2.2.2: https_spiffe needs the endpoint's SPIFFE ID and a bundle to authenticate it with
  // (the bootstrap bundleFile when self-serving, else a trust domain the mesh knows); https_web takes neither.
  private bundleEndpoint(e: NonNullable<RawFederation['bundleEndpoint']>, td: TrustDomain, hasFile: boolean, path: string, raw: RawMesh): BundleEndpoint | undefined {
    if (e.url === undefined || e.profile === undefined) return undefined;
    if (e.profile === 'https_web') {
      if (e.endpointSpiffeId) this.report('CONFLICTING_FIELDS', `${path}.endpointSpiffeId`, 'endpointSpiffeId is for https_spiffe; an https_web endpoint is authenticated by its Web PKI certificate', undefined, 'leave it out, or use profile https_spiffe');
      return { url: e.url, profile: e.profile };
    }
    if (!e.endpointSpiffeId) {
      this.report('MISSING_FIELD', path, 'profile https_spiffe needs endpointSpiffeId, the SPIFFE ID the endpoint presents', undefined, `e.g. endpointSpiffeId: ${td.idString()}/trustplane/server`);
      return undefined;
    }
    const etd = e.endpointSpiffeId.trustDomain;
    if (etd.equals(td)) {
      if (!hasFile) this.report('MISSING_FIELD', path, `a self-serving https_spiffe endpoint needs bundleFile: the bootstrap bundle of ${td.name} that authenticates its first fetch`, undefined, 'bundleFile: <the bundle, PEM or SPIFFE JSON>');
    } else if (!etd.equals(raw.trustDomain) && !(raw.federation ?? []).some((o) => o?.trustDomain?.equals(etd))) {
      this.report('UNKNOWN_TRUST_DOMAIN', `${path}.endpointSpiffeId`, `the endpoint's trust domain "${etd.name}" is neither the mesh's own nor federated, so its SVID cannot be verified`, `"${etd.name}"`, 'the own trust domain, a federated one, or the one being fetched');
    }
    return { url: e.url, profile: e.profile, endpointSpiffeId: e.endpointSpiffeId };
  }
  /**
   * IDs under /trustplane/ of the own trust domain are trustplane's own: its server identity and node SVIDs
   * (spiffe://<td>/trustplane/node/<name>), which authenticate proxies to it. A workload holding one could
   * impersonate the control plane or a node, so the description may not hand them out or admit them as callers.
   */
  private notReserved(id: SpiffeId, own: TrustDomain, path: string): boolean {
    if (!id.memberOf(own) || !isTrustplanePath(id.path)) return true;
    this.report('RESERVED_SPIFFE_ID', path, `SPIFFE ID ${id.toString()} is reserved for trustplane itself (its server and node identities)`, id.toString(), `an ID outside ${own.idString()}/trustplane/`);
    return false;
  }

  private service(rs: RawService, path: string, own: TrustDomain | undefined, defaultMode: Mode): Partial {
    if (rs.spiffeId !== undefined && own !== undefined && !rs.spiffeId.memberOf(own)) {
      this.report('ID_OUTSIDE_TRUST_DOMAIN', `${path}.spiffeId`, `SPIFFE ID ${rs.spiffeId.toString()} is outside the mesh's trust domain "${own.name}"`, `trust domain "${rs.spiffeId.trustDomain.name}"`, `an ID under ${own.idString()}/`);
    }
    if (rs.spiffeId !== undefined && own !== undefined) this.notReserved(rs.spiffeId, own, `${path}.spiffeId`);
    const mode = rs.mode ?? defaultMode;
    const inbound: InboundPort[] = [];
    (rs.inbound ?? []).forEach((ri: RawInbound | undefined, i) => {
      if (ri?.port === undefined || ri.appPort === undefined) return;
      inbound.push({
        port: ri.port,
        appPort: ri.appPort,
        appAddress: ri.appAddress ?? '127.0.0.1',
        listenAddress: ri.listenAddress ?? GRPC_DEFAULT_LISTEN_ADDRESS,
        protocol: ri.protocol ?? 'tcp',
        mode: ri.mode ?? mode,
        modeSource: ri.mode !== undefined ? 'port' : rs.mode !== undefined ? 'service' : 'mesh',
        force: ri.force ?? rs.force ?? false,
        ...this.requireJwt(ri, rs, `${path}.inbound[${i}]`),
        path: `${path}.inbound[${i}]`,
      });
    });
    return {
      name: rs.name ?? '',
      spiffeId: rs.spiffeId as SpiffeId,
      address: rs.address ?? rs.name ?? '',
      target: rs.target ?? 'sidecar',
      nodes: (rs.nodes ?? []).filter((n) => n !== undefined),
      mode,
      modeSource: rs.mode !== undefined ? 'service' : 'mesh',
      inbound,
      allowedCallers: this.callers(rs, path, own),
      path,
      raw: rs,
    };
  }

  /** A service's allowedCallers: the last resolve's object when its raw list, place and lookups are the same. */
  private callers(rs: RawService, path: string, own: TrustDomain | undefined): AllowedCallers {
    const raw = rs.allowedCallers;
    if (raw === undefined) return this.#callers(rs, path, own);
    const listPath = `${path}.allowedCallers`;
    const memo = callersMemo.get(raw);
    const names = this.servicesByName as unknown;
    if (memo && memo.path === listPath && memo.context === this.context && (names instanceof Recording && (names as Recording<unknown>).view === callerView ? names.replay(memo.lookups) : sameLookups(memo.lookups, this.servicesByName, callerView))) {
      meshCounters.partsReused++;
      return memo.value;
    }
    const before = this.problems.length;
    const outer = this.servicesByName;
    const lookups: (readonly [string, unknown])[] = [];
    this.servicesByName = recording(outer, lookups, callerView) as Map<string, { name?: string; spiffeId?: SpiffeId }>;
    try {
      const value = this.#callers(rs, path, own);
      if (this.problems.length === before) callersMemo.set(raw, { path: listPath, context: this.context, lookups, value });
      return value;
    } finally {
      this.servicesByName = outer;
    }
  }

  #callers(rs: RawService, path: string, own: TrustDomain | undefined): AllowedCallers {
    const listPath = `${path}.allowedCallers`;
    if (rs.allowedCallers === undefined) {
      const trustDomains = own ? [own] : [];
      return { implicit: true, rules: [], spiffeIds: [], trustDomains, matcher: callerMatcher([], trustDomains), path: listPath };
    }
    const rules: CallerRule[] = [];
    rs.allowedCallers.forEach((c: RawCaller | undefined, i) => {
      const p = childPath(listPath, i);
      if (c?.kind === 'spiffeId' && c.spiffeId && own && !this.notReserved(c.spiffeId, own, `${p}.spiffeId`)) return;
      if (c?.kind === 'spiffeId' && c.spiffeId && this.knownDomain(c.spiffeId, `${p}.spiffeId`)) {
        rules.push({ kind: 'spiffeId', spiffeId: c.spiffeId, path: p });
      }
      if (c?.kind === 'trustDomain' && c.trustDomain) {
        if (this.known.some((t) => t.equals(c.trustDomain!))) rules.push({ kind: 'trustDomain', trustDomain: c.trustDomain, path: p });
        else if (this.ownValid) this.unknownDomain(c.trustDomain, `${p}.trustDomain`);
      }
      if (c?.kind === 'service' && c.service !== undefined) {
        const s = this.servicesByName.get(c.service);
        if (s?.spiffeId) rules.push({ kind: 'service', service: c.service, spiffeId: s.spiffeId, path: p });
        else if (!s) this.unknownService(c.service, `${p}.service`);
      }
    });
    const spiffeIds: SpiffeId[] = [];
    for (const r of rules) if (r.kind !== 'trustDomain' && !spiffeIds.some((x) => x.equals(r.spiffeId))) spiffeIds.push(r.spiffeId);
    const trustDomains = rules.flatMap((r) => (r.kind === 'trustDomain' ? [r.trustDomain] : []));
    return { implicit: false, rules, spiffeIds, trustDomains, matcher: callerMatcher(spiffeIds, trustDomains), path: listPath };
  }

  /** Raw services by name, for `service:` references in allowedCallers (which may point forward). */
  services?: readonly { name?: string; spiffeId?: SpiffeId }[];
  servicesByName = new Map<string, { name?: string; spiffeId?: SpiffeId }>();

  private knownDomain(id: SpiffeId, path: string): boolean {
    if (this.known.some((t) => id.memberOf(t))) return true;
    if (!this.ownValid) return false; // the own trust domain is already reported; membership cannot be judged
    this.unknownDomain(id.trustDomain, path);
    return false;
  }

  private unknownDomain(td: TrustDomain, path: string): void {
    const known = this.known.map((t) => t.name).join(', ');
    this.report('UNKNOWN_TRUST_DOMAIN', path, `trust domain "${td.name}" is neither the mesh's own nor federated`, `"${td.name}"`, `a trust domain in: ${known}; or add it under federation`);
  }

  private unknownService(name: string, path: string): void {
    const names = [...new Set((this.services ?? []).map((s) => s.name).filter((n) => n !== undefined))];
    const near = suggestKey(name, names);
    this.report('UNKNOWN_SERVICE', path, `no service named "${name}"${near ? `, did you mean "${near}"?` : ''}`, `"${name}"`, names.length > 0 ? `a service of this mesh: ${names.join(', ')}` : 'a service of this mesh');
  }

  /**
   * A service's outbound dependencies: the last resolve's array when its raw list and place are the same and every
   * server it looked up answers the same as far as a dependency reads it (name, address, SPIFFE ID, ports), so a
   * change of a server's application port does not rebuild its clients' dependencies.
   */
  private outbound(rs: RawService, path: string, byName: ReadonlyMap<string, Partial>): Outbound[] {
    const raw = rs.outbound;
    if (raw === undefined) return [];
    const memo = outboundMemo.get(raw);
    const base = byName instanceof Recording ? (byName.base as ReadonlyMap<string, Partial>) : byName;
    if (memo && memo.path === path && memo.context === this.context && memo.lookups.every(([name, v]) => sameServer(base.get(name), v as Partial | undefined))) {
      // Looked up again through byName, so that its log holds what this service reads now; the memo then holds
      // the servers of this resolve (not those of the one that made it, which would stay alive with it).
      let lookups: (readonly [string, unknown])[];
      if (byName instanceof Recording && byName.view === itself) {
        for (const [name] of memo.lookups) byName.get(name);
        lookups = byName.log.slice(byName.log.length - memo.lookups.length);
      } else {
        lookups = [];
        const rec = new Recording(byName, lookups, itself);
        for (const [name] of memo.lookups) rec.get(name);
      }
      outboundMemo.set(raw, { ...memo, lookups });
      meshCounters.partsReused++;
      return memo.value;
    }
    const before = this.problems.length;
    const lookups: (readonly [string, unknown])[] = [];
    const value = this.#outbound(raw, path, recording(byName, lookups));
    if (this.problems.length === before) outboundMemo.set(raw, { path, context: this.context, lookups, value });
    return value;
  }

  #outbound(raw: readonly (RawOutbound | undefined)[], path: string, byName: ReadonlyMap<string, Partial>): Outbound[] {
    const out: Outbound[] = [];
    const names = new Map<string, string>();
    raw.forEach((ro: RawOutbound | undefined, i) => {
      const p = childPath(`${path}.outbound`, i);
      const o = ro?.kind === 'service' ? this.meshDependency(ro, p, byName) : ro ? this.external(ro, p) : undefined;
      if (!o) return;
      const first = names.get(o.name);
      if (first) this.report('DUPLICATE_DEPENDENCY', `${p}.${ro!.kind}`, `dependency "${o.name}" is already declared at ${this.where(first)}`);
      else names.set(o.name, p);
      out.push(o);
    });
    return out;
  }

  private meshDependency(ro: Extract<RawOutbound, { kind: 'service' }>, p: string, byName: ReadonlyMap<string, Partial>): Outbound | undefined {
    if (ro.service === undefined) return undefined;
    const server = byName.get(ro.service);
    if (!server) {
      this.unknownService(ro.service, `${p}.service`);
      return undefined;
    }
    const ports = server.inbound.map((ib) => ib.port);
    const port = ro.port === undefined && server.inbound.length === 1 ? server.inbound[0] : server.inbound.find((ib) => ib.port === ro.port);
    if (!port) {
      const accepted = ports.length > 0 ? `one of the inbound ports of "${server.name}": ${ports.join(', ')}` : `a service with inbound ports`;
      if (ro.port !== undefined) this.report('UNKNOWN_PORT', `${p}.port`, `service "${server.name}" has no inbound port ${ro.port}`, String(ro.port), accepted);
      else if (ports.length === 0) this.report('UNKNOWN_PORT', `${p}.service`, `service "${server.name}" has no inbound ports to call`, undefined, accepted);
      else this.report('UNKNOWN_PORT', `${p}.service`, `service "${server.name}" has ${ports.length} inbound ports; say which with "port"`, undefined, accepted);
      return undefined;
    }
    return {
      kind: 'service',
      service: server.name,
      name: server.name,
      port: port.port,
      endpoints: [{ address: server.address, port: port.port }],
      protocol: port.protocol,
      spiffeIds: server.spiffeId ? [server.spiffeId] : [],
      serverMode: port.mode,
      listenPort: ro.listenPort,
      path: p,
    };
  }

  private external(ro: Extract<RawOutbound, { kind: 'name' }>, p: string): Outbound | undefined {
    const serverMode = ro.mode ?? 'STRICT';
    const spiffeIds: SpiffeId[] = [];
    (ro.spiffeIds ?? []).forEach((id, k) => {
      if (id && this.knownDomain(id, `${p}.spiffeIds[${k}]`)) spiffeIds.push(id);
    });
    // A key that was present but invalid is already reported; only a truly absent list is missing.
    const written = (key: string) => this.written(ro, key, () => p);
    // istio derives the server ID, SNI and ALPN; stating any of them as well would leave two answers.
    if (written('istio')) {
      for (const key of ['spiffeIds', 'sni', 'alpn']) {
        if (written(key)) this.report('CONFLICTING_FIELDS', `${p}.${key}`, `"istio" and "${key}" exclude each other`, undefined, `istio (the server ID, SNI and ALPN follow from it), or ${key}`);
      }
    }
    const istio = ro.istio && ro.port !== undefined ? this.istio(ro.istio, ro.port, `${p}.istio`) : undefined;
    if (istio && !written('spiffeIds')) spiffeIds.push(istio.spiffeId);
    if (!written('spiffeIds') && !written('istio') && !(written('mode') && ro.mode === undefined) && serverMode !== 'DISABLE') {
      this.report('MISSING_FIELD', `${p}.spiffeIds`, 'missing required field "spiffeIds"', undefined, 'the SPIFFE IDs the server may present; or mode: DISABLE for a plaintext server');
    }
    if (ro.name === undefined || ro.port === undefined) return undefined;
    const port = ro.port;
    const endpoints = ro.address !== undefined
      ? [{ address: ro.address, port }]
      : (ro.endpoints ?? []).flatMap((e) => (e?.address === undefined ? [] : [{ address: e.address, port: e.port ?? port }]));
    const alpn = ro.alpn?.filter((a) => a !== undefined);
    return {
      kind: 'external',
      name: ro.name,
      endpoints,
      protocol: ro.protocol ?? 'tcp',
      spiffeIds,
      serverMode,
      listenPort: ro.listenPort,
      ...(istio ? { istio } : {}),
      ...(ro.sni !== undefined ? { sni: ro.sni } : {}),
      ...(alpn ? { alpn } : {}),
      path: p,
    };
  }

  private istio(ri: NonNullable<Extract<RawOutbound, { kind: 'name' }>['istio']>, port: number, p: string): IstioDestination | undefined {
    const trustDomain = ri.trustDomain ?? TrustDomain.parse(ISTIO_DEFAULT_TRUST_DOMAIN);
    const tdPath = this.written(ri, 'trustDomain', () => p) ? `${p}.trustDomain` : p;
    if (ri.host === undefined || ri.namespace === undefined || ri.serviceAccount === undefined) return undefined;
    const spiffeId = SpiffeId.fromPath(trustDomain, `/ns/${ri.namespace}/sa/${ri.serviceAccount}`);
    if (!this.knownDomain(spiffeId, tdPath)) return undefined;
    return { host: ri.host, port: ri.port ?? port, namespace: ri.namespace, serviceAccount: ri.serviceAccount, trustDomain, spiffeId };
  }

  /** A port's JWT-SVID requirement: HTTP (or gRPC) ports of sidecars only, where Envoy's jwt_authn runs. */
  private requireJwt(ri: RawInbound, rs: RawService, path: string): { requireJwt?: RequireJwt } {
    if (ri.requireJwt === undefined) return {};
    const p = `${path}.requireJwt`;
    const protocol = ri.protocol ?? 'tcp';
    if (protocol !== 'http' && protocol !== 'grpc') {
      this.report('WRONG_PROTOCOL', p, `requireJwt needs an HTTP port; this port's protocol is ${protocol}`, protocol, 'protocol http or grpc');
    }
    const target = rs.target ?? 'sidecar';
    if (target !== 'sidecar') {
      this.report('NOT_FOR_TARGET', p, `requireJwt is only generated for target sidecar; this service's target is ${target}`, undefined, 'target: sidecar, or no requireJwt key');
    }
    const audiences = [...new Set((ri.requireJwt.audiences ?? []).filter((a): a is string => typeof a === 'string'))].sort();
    return audiences.length ? { requireJwt: { audiences } } : {};
  }

  /** Fields only some targets generate: reported rather than silently ignored. */
  private checkTarget(rs: RawService, target: Target, path: string): void {
    const gateway = this.written(rs, 'gateway', () => path);
    if (target === 'gateway' && !gateway) {
      this.report('MISSING_FIELD', `${path}.gateway`, 'missing required field "gateway"', undefined, 'the listeners and routes of a service with target gateway');
    }
    if (target !== 'gateway' && gateway) {
      this.report('NOT_FOR_TARGET', `${path}.gateway`, `"gateway" is only used by target gateway; this service's target is ${target}`, undefined, 'target: gateway, or no gateway key');
    }
    if (target !== 'grpc') {
      (rs.inbound ?? []).forEach((ri, i) => {
        if (this.written(ri, 'listenAddress', () => `${path}.inbound[${i}]`)) this.report('NOT_FOR_TARGET', `${path}.inbound[${i}].listenAddress`, `"listenAddress" is only used by target grpc (the server binds it itself); this service's target is ${target}`, undefined, 'target: grpc, or no listenAddress key');
      });
    }
    if (UPSTREAM_TLS_TARGETS.includes(target)) return;
    (rs.outbound ?? []).forEach((ro, i) => {
      for (const key of ['istio', 'sni', 'alpn']) {
        if (!this.written(ro, key, () => `${path}.outbound[${i}]`)) continue;
        const p = `${path}.outbound[${i}].${key}`;
        this.report('NOT_FOR_TARGET', p, `"${key}" is only generated for targets ${UPSTREAM_TLS_TARGETS.join(' and ')}; this service's target is ${target}`, undefined, `target: ${UPSTREAM_TLS_TARGETS.join(' or ')}, or no ${key} key`);
      }
    });
  }

  private gateway(rg: RawGateway, path: string, outbound: readonly Outbound[], byName: ReadonlyMap<string, Partial>): Gateway {
    const listeners: GatewayListener[] = [];
    const hostsByPort = new Map<number, Map<string, string>>();
    (rg.listeners ?? []).forEach((rl, i) => {
      const lp = childPath(`${path}.listeners`, i);
      if (rl === undefined) return;
      const tls = rl.tls;
      if (tls?.requireClientCertificate === true && tls.clientCaFile === undefined && !this.written(tls, 'clientCaFile', () => `${lp}.tls`)) {
        this.report('MISSING_FIELD', `${lp}.tls.clientCaFile`, 'missing field "clientCaFile": requireClientCertificate needs the CAs client certificates are checked against', undefined, 'a PEM file of CA certificates');
      }
      const hosts: string[] = [];
      if (rl.port !== undefined) {
        const seen = hostsByPort.get(rl.port) ?? new Map<string, string>();
        hostsByPort.set(rl.port, seen);
        (rl.hosts ?? []).forEach((h, k) => {
          if (h === undefined) return;
          const first = seen.get(h);
          if (first) this.report('DUPLICATE_HOST', `${lp}.hosts[${k}]`, `host "${h}" is already served on port ${rl.port} by ${this.where(first)}`, `"${h}"`, 'each host once per port');
          else seen.set(h, lp);
          hosts.push(h);
        });
      }
      if (rl.port === undefined || tls?.certificateFile === undefined || tls.privateKeyFile === undefined || hosts.length === 0) return;
      listeners.push({
        port: rl.port,
        hosts,
        tls: {
          certificateFile: tls.certificateFile,
          privateKeyFile: tls.privateKeyFile,
          ...(tls.clientCaFile !== undefined ? { clientCaFile: tls.clientCaFile } : {}),
          requireClientCertificate: tls.requireClientCertificate ?? false,
          path: `${lp}.tls`,
        },
        path: lp,
      });
    });
    const served = [...new Set([...hostsByPort.values()].flatMap((m) => [...m.keys()]))];
    const routes: GatewayRoute[] = [];
    const seenRoutes = new Map<string, string>();
    (rg.routes ?? []).forEach((rr, i) => {
      const rp = childPath(`${path}.routes`, i);
      if (rr?.host === undefined || rr.dependency === undefined) return;
      const pathPrefix = rr.pathPrefix ?? (this.written(rr, 'pathPrefix', () => rp) ? undefined : '/');
      if (pathPrefix === undefined) return;
      let ok = true;
      if (!served.includes(rr.host)) {
        ok = false;
        if (hostsByPort.size > 0) {
          const near = suggestKey(rr.host, served);
          this.report('UNKNOWN_HOST', `${rp}.host`, `no gateway listener serves host "${rr.host}"${near ? `, did you mean "${near}"?` : ''}`, `"${rr.host}"`, served.length ? `a host of the listeners: ${served.join(', ')}` : 'a host of the listeners');
        }
      }
      const dep = outbound.find((o) => o.name === rr.dependency);
      if (!dep) {
        ok = false;
        const names = outbound.map((o) => o.name);
        const near = suggestKey(rr.dependency, names);
        const accepted = byName.has(rr.dependency)
          ? `a dependency of this gateway; to route to service "${rr.dependency}", add "- service: ${rr.dependency}" under outbound`
          : names.length ? `a dependency of this gateway: ${names.join(', ')}` : 'a dependency of this gateway (declare it under outbound)';
        this.report('UNKNOWN_DEPENDENCY', `${rp}.dependency`, `the gateway has no dependency "${rr.dependency}"${near ? `, did you mean "${near}"?` : ''}`, `"${rr.dependency}"`, accepted);
      } else if (dep.protocol === 'tcp') {
        ok = false;
        this.report('WRONG_PROTOCOL', `${rp}.dependency`, `dependency "${dep.name}" speaks tcp; a route forwards HTTP requests`, `"${dep.name}" (protocol tcp)`, 'a dependency with protocol http or grpc');
      }
      const key = `${rr.host} ${pathPrefix}`;
      const first = seenRoutes.get(key);
      if (first) {
        this.report('DUPLICATE_ROUTE', rr.pathPrefix !== undefined ? `${rp}.pathPrefix` : `${rp}.host`, `host "${rr.host}" path prefix "${pathPrefix}" is already routed by ${this.where(first)}`, undefined, 'one route per host and path prefix');
        return;
      }
      seenRoutes.set(key, rp);
      if (ok) routes.push({ host: rr.host, pathPrefix, dependency: rr.dependency, path: rp });
    });
    return { listeners, routes, path };
  }

  /** A service's proxy binds its inbound and outbound listen ports on one host, beside its (loopback) application. */
  private checkPorts(s: Service): void {
    if (!portsMayClash(s)) return;
    const bound = new Map<number, string>();
    const claim = (port: number, path: string) => {
      const first = bound.get(port);
      if (first) this.report('DUPLICATE_PORT', path, `port ${port} is already used by ${this.where(first)}`, String(port), 'a port no other listener or application of this service uses');
      else bound.set(port, path);
    };
    for (const ib of s.inbound) claim(ib.port, `${ib.path}.port`);
    // Gateway entries on one port share one listener (chosen by TLS server name), so a port is claimed once.
    const gatewayPorts = new Set<number>();
    for (const gl of s.gateway?.listeners ?? []) {
      if (gatewayPorts.has(gl.port)) continue;
      gatewayPorts.add(gl.port);
      claim(gl.port, `${gl.path}.port`);
    }
    for (const ob of s.outbound) if (ob.listenPort !== undefined) claim(ob.listenPort, `${ob.path}.listenPort`);
    for (const ib of s.inbound) {
      const listener = bound.get(ib.appPort);
      if (listener && LOOPBACK.has(ib.appAddress)) {
        this.report('DUPLICATE_PORT', `${ib.path}.appPort`, `application port ${ib.appPort} is also the proxy's listen port at ${this.where(listener)}`, String(ib.appPort), 'an application port the proxy does not listen on');
      }
    }
  }
}

/**
 * Whether checkPorts() can have anything to report: a port claimed twice (gateway listeners on one port counted
 * once), or a loopback application port the proxy also listens on. Small lists, no paths built: most services
 * clash nowhere, and their check then allocates nothing.
 */
function portsMayClash(s: Service): boolean {
  const claimed: number[] = [];
  for (const ib of s.inbound) claimed.push(ib.port);
  const gatewayFrom = claimed.length;
  for (const gl of s.gateway?.listeners ?? []) if (claimed.indexOf(gl.port, gatewayFrom) < 0) claimed.push(gl.port);
  for (const ob of s.outbound) if (ob.listenPort !== undefined) claimed.push(ob.listenPort);
  for (let i = 1; i < claimed.length; i++) if (claimed.lastIndexOf(claimed[i]!, i - 1) >= 0) return true;
  for (const ib of s.inbound) if (LOOPBACK.has(ib.appAddress) && claimed.includes(ib.appPort)) return true;
  return false;
}
