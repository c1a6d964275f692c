/**
 * The GSS-API the protocol code is written against (RFC 2743's calls that RFC 1961 needs), implemented in
 * lib/runtime over the system's MIT Kerberos library through each runtime's FFI. Calls are synchronous, as the C
 * library's are: an acceptor works from its keytab alone, while an initiator may ask the KDC for a ticket once.
 *
 * @module
 */

/** RFC 2744 context flags (ret_flags / req_flags). */
export const GssFlag = {
  Delegate: 1,
  Mutual: 2,
  Replay: 4,
  Sequence: 8,
  Confidentiality: 16,
  Integrity: 32,
} as const;

/** One step of context establishment. */
export interface GssStep {
  /** The token to send to the peer, if the mechanism produced one. */
  readonly token?: Uint8Array;
  /** True when the context is established (GSS_S_COMPLETE). */
  readonly complete: boolean;
}

/** An unwrapped message. */
export interface GssUnwrapped {
  /** The plaintext. */
  readonly data: Uint8Array;
  /** True when the sender encrypted it (conf_state). */
  readonly confidential: boolean;
}

/** A security context, on either side. Release it when done. */
export interface GssContext {
  /** Feeds the peer's token (none for an initiator's first step) and answers the next token to send. */
  step(token?: Uint8Array): GssStep;
  /** The ret_flags once established (see {@link GssFlag}). */
  readonly flags: number;
  /** The peer's principal, as gss_display_name shows it (acceptor: the client, e.g. `alice@EXAMPLE.ORG`). */
  peerName(): string;
  /** The acceptor's own principal the client asked for (e.g. `rcmd/proxy.example.org@EXAMPLE.ORG`). */
  targetName(): string;
  /** gss_wrap: integrity, and encryption when `confidential`. */
  wrap(data: Uint8Array, confidential: boolean): Uint8Array;
  /** gss_unwrap: checks and decrypts; throws a SocksError on a bad token. */
  unwrap(token: Uint8Array): GssUnwrapped;
  /** gss_delete_sec_context; safe to call more than once. */
  release(): void;
}

/** The GSS-API of the system, as one runtime reaches it. */
export interface GssApi {
  /**
   * Checks that the acceptor can work: gss_acquire_cred for accepting, from `keytab` (registered as the acceptor
   * identity) or KRB5_KTNAME or the default keytab. Throws a SocksError saying what is wrong.
   */
  checkAcceptor(keytab?: string): void;
  /** A new acceptor context (the server side), using the acceptor identity `checkAcceptor` set. */
  acceptor(): GssContext;
  /**
   * A new initiator context (the client side) for the host-based service `service@host` (e.g. `rcmd@proxy`), with
   * the caller's credential cache (KRB5CCNAME); it asks for mutual authentication, integrity and confidentiality.
   */
  initiator(service: string, host: string): GssContext;
}
