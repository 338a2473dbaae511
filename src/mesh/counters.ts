// How much work each stage of reading a description did, counted since the process started. Tests and
// bench/mesh-reload read them to prove that an edit costs what it changed (counters, not timers).
export const meshCounters = {
  /** Reads of the whole text (every line scanned), and reads of only the lines around a change. */
  fullReads: 0,
  deltaReads: 0,
  /** Top-level list items (each service) tokenised afresh, and taken from an earlier read by their text. */
  itemsRead: 0,
  itemsReused: 0,
  /** Items that differ from the old item at their place in one value on one line: that value read, the rest shared. */
  itemsPatched: 0,
  /** List items checked against the schema afresh (the others: taken from an earlier check of the same tree). */
  itemsChecked: 0,
  /** Service items resolved afresh without and with their outbound side, and services kept from the last resolve. */
  partialsResolved: 0,
  servicesResolved: 0,
  servicesReused: 0,
  /** Parts of a service resolved again (its allowedCallers, its outbound list) taken whole from an earlier resolve. */
  partsReused: 0,
  /** Resolves that patched the last one (the others resolved every item, reusing what they could). */
  deltaResolves: 0,
};
