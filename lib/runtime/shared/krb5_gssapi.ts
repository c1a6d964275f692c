/**
 * The {@link GssApi} over MIT Kerberos' `libgssapi_krb5.so.2` (RFC 2744 C bindings), written once over a minimal
 * {@link NativeCalls} that each runtime's FFI provides (gssapi_deno.ts, gssapi_bun.ts, gssapi_node.ts). Every
 * pointer and integer crosses as a 64-bit integer; structures (gss_buffer_desc, gss_OID_desc) are laid out here
 * for LP64 (x86_64 and aarch64 Linux).
 *
 * @module
 */
import { type GssApi, type GssContext, GssFlag, type GssStep, type GssUnwrapped } from "../../gssapi/mechanism.ts";
import { SocksError } from "../../wire/socks_error.ts";

/** The C functions used, with their number of parameters. */
export const GSS_FUNCTIONS = {
  gss_import_name: 4,
  gss_acquire_cred: 8,
  gss_release_cred: 2,
  gss_accept_sec_context: 11,
  gss_init_sec_context: 13,
  gss_wrap: 7,
  gss_unwrap: 6,
  gss_display_name: 4,
  gss_release_buffer: 2,
  gss_release_name: 2,
  gss_delete_sec_context: 3,
  gss_inquire_context: 9,
  gss_display_status: 6,
  krb5_gss_register_acceptor_identity: 1,
} as const;

/** A function of {@link GSS_FUNCTIONS}. */
export type GssFunctionName = keyof typeof GSS_FUNCTIONS;

/** The library's file name (the ABI-stable soname of MIT Kerberos' GSS-API). */
export const GSSAPI_LIBRARY = "libgssapi_krb5.so.2";

/** What a runtime's FFI must provide: calls with 64-bit integer arguments, and raw memory access. */
export interface NativeCalls {
  /** Calls `name` with every argument as a 64-bit integer (pointers as addresses); returns its OM_uint32. */
  call(name: GssFunctionName, args: bigint[]): number;
  /** The address of a buffer allocated by {@link allocate} (its memory does not move). */
  address(buffer: Uint8Array): bigint;
  /** A copy of `length` bytes at `address` (memory the library owns). */
  read(address: bigint, length: number): Uint8Array;
}

const GSS_S_COMPLETE = 0;
const GSS_S_CONTINUE_NEEDED = 1;
const GSS_C_GSS_CODE = 1;
const GSS_C_MECH_CODE = 2;
const GSS_C_ACCEPT = 2;
const GSS_C_INDEFINITE = 0xffffffffn;
/** gss_nt_service_name, RFC 2743's GSS_C_NT_HOSTBASED_SERVICE: 1.2.840.113554.1.2.1.4. */
const HOSTBASED_SERVICE_OID = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x01, 0x04];

/** Memory that is never moved by a garbage collector: a fresh ArrayBuffer's backing store (not an on-heap array). */
export function allocate(size: number): Uint8Array {
  return new Uint8Array(new ArrayBuffer(Math.max(size, 8)));
}

/** The {@link GssApi} over a runtime's {@link NativeCalls}. */
export function krb5GssApi(native: NativeCalls): GssApi {
  const minor = allocate(4);
  const minorAt = native.address(minor);
  // Releases and status lookups write a minor status too: a cell of their own keeps the one being reported.
  const scratch = allocate(4);
  const scratchAt = native.address(scratch);
  // Buffers whose addresses were handed to C must outlive the call: a garbage collector frees (it does not move)
  // an ArrayBuffer no JavaScript reference holds, and an optimiser drops references it sees no later use of.
  const pinned: Uint8Array[] = [];
  const pin = (...buffers: Uint8Array[]) => {
    // Only the current call's buffers are needed; older ones go (calls are synchronous, never nested in C).
    if (pinned.length > 64) pinned.splice(0, pinned.length - 64);
    pinned.push(...buffers);
  };
  const u32 = (cell: Uint8Array) => new DataView(cell.buffer).getUint32(0, true);
  const u64 = (cell: Uint8Array, offset = 0) => new DataView(cell.buffer).getBigUint64(offset, true);

  /** A gss_buffer_desc over `data` (kept alive by the returned object). */
  const inputBuffer = (data: Uint8Array) => {
    const bytes = allocate(data.length);
    bytes.set(data);
    const desc = allocate(16);
    const view = new DataView(desc.buffer);
    view.setBigUint64(0, BigInt(data.length), true);
    view.setBigUint64(8, data.length === 0 ? 0n : native.address(bytes), true);
    pin(desc, bytes);
    return { desc, bytes, at: native.address(desc) };
  };
  /** An empty gss_buffer_desc for output; `take()` copies it out and releases it. */
  const outputBuffer = () => {
    const desc = allocate(16);
    const at = native.address(desc);
    return {
      at,
      take(): Uint8Array {
        const length = Number(u64(desc, 0));
        const value = u64(desc, 8);
        const data = length === 0 || value === 0n ? new Uint8Array() : native.read(value, length);
        if (value !== 0n) native.call("gss_release_buffer", [scratchAt, at]);
        return data;
      },
    };
  };
  const statusText = (code: number, type: number): string[] => {
    const texts: string[] = [];
    const context = allocate(4);
    for (let i = 0; i < 8; i++) {
      const out = outputBuffer();
      const major = native.call("gss_display_status", [
        scratchAt,
        BigInt(code),
        BigInt(type),
        0n,
        native.address(context),
        out.at,
      ]);
      const text = new TextDecoder().decode(out.take());
      if (major !== GSS_S_COMPLETE) break;
      if (text !== "") texts.push(text);
      if (u32(context) === 0) break;
    }
    return texts;
  };
  const failed = (what: string, major: number, minorCode: number) => {
    const texts = [...statusText(major, GSS_C_GSS_CODE), ...(minorCode ? statusText(minorCode, GSS_C_MECH_CODE) : [])];
    return new SocksError(
      "auth-failed",
      `GSS-API ${what} failed: ${texts.join("; ") || `major 0x${major.toString(16)}`}`,
    );
  };
  const check = (what: string, major: number) => {
    if ((major & 0xffff0000) !== 0) throw failed(what, major, u32(minor));
    return major;
  };
  const nameText = (name: bigint): string => {
    const out = outputBuffer();
    check("gss_display_name", native.call("gss_display_name", [minorAt, name, out.at, 0n]));
    return new TextDecoder().decode(out.take());
  };
  const releaseName = (cell: Uint8Array) => {
    if (u64(cell) !== 0n) native.call("gss_release_name", [scratchAt, native.address(cell)]);
  };
  const hostbasedOid = allocate(16);
  const hostbasedOidBytes = allocate(HOSTBASED_SERVICE_OID.length);
  // Held for the life of this object: the OID descriptor points into these bytes.
  const constants = [hostbasedOid, hostbasedOidBytes, scratch];
  hostbasedOidBytes.set(HOSTBASED_SERVICE_OID);
  new DataView(hostbasedOid.buffer).setUint32(0, HOSTBASED_SERVICE_OID.length, true);
  new DataView(hostbasedOid.buffer).setBigUint64(8, native.address(hostbasedOidBytes), true);

  const context = (side: "acceptor" | "initiator", target?: bigint): GssContext => {
    const handle = allocate(8);
    const flagsCell = allocate(4);
    const peer = allocate(8);
    let released = false;
    let established = false;
    const inquire = (which: "source" | "target"): string => {
      const source = allocate(8);
      const targ = allocate(8);
      check(
        "gss_inquire_context",
        native.call("gss_inquire_context", [
          minorAt,
          u64(handle),
          which === "source" ? native.address(source) : 0n,
          which === "target" ? native.address(targ) : 0n,
          0n,
          0n,
          0n,
          0n,
          0n,
        ]),
      );
      const cell = which === "source" ? source : targ;
      try {
        return nameText(u64(cell));
      } finally {
        releaseName(cell);
      }
    };
    return {
      get flags() {
        return u32(flagsCell);
      },
      step(token?: Uint8Array): GssStep {
        if (released) throw new SocksError("failed", "GSS-API context already released");
        const input = token === undefined ? undefined : inputBuffer(token);
        const out = outputBuffer();
        let major: number;
        if (side === "acceptor") {
          if (input === undefined) throw new SocksError("bad-field", "an acceptor needs the initiator's token");
          major = native.call("gss_accept_sec_context", [
            minorAt,
            native.address(handle),
            0n, // GSS_C_NO_CREDENTIAL: any key of the acceptor's keytab
            input.at,
            0n,
            native.address(peer),
            0n,
            out.at,
            native.address(flagsCell),
            0n,
            0n,
          ]);
        } else {
          major = native.call("gss_init_sec_context", [
            minorAt,
            0n, // GSS_C_NO_CREDENTIAL: the default credential cache
            native.address(handle),
            target!,
            0n, // the default mechanism: Kerberos 5
            BigInt(GssFlag.Mutual | GssFlag.Integrity | GssFlag.Confidentiality | GssFlag.Sequence | GssFlag.Replay),
            0n,
            0n,
            input?.at ?? 0n,
            0n,
            out.at,
            native.address(flagsCell),
            0n,
          ]);
        }
        const produced = out.take();
        check(side === "acceptor" ? "gss_accept_sec_context" : "gss_init_sec_context", major);
        // Past check(), only supplementary bits remain: CONTINUE_NEEDED means another round trip.
        established = (major & GSS_S_CONTINUE_NEEDED) === 0;
        return { token: produced.length > 0 ? produced : undefined, complete: established };
      },
      peerName() {
        if (!established) throw new SocksError("failed", "GSS-API context not established");
        if (side === "acceptor") return nameText(u64(peer));
        return inquire("target");
      },
      targetName() {
        if (!established) throw new SocksError("failed", "GSS-API context not established");
        return inquire(side === "acceptor" ? "target" : "source");
      },
      wrap(data, confidential) {
        const input = inputBuffer(data);
        const out = outputBuffer();
        const state = allocate(4);
        const major = native.call("gss_wrap", [
          minorAt,
          u64(handle),
          confidential ? 1n : 0n,
          0n,
          input.at,
          native.address(state),
          out.at,
        ]);
        const token = out.take();
        check("gss_wrap", major);
        if (confidential && u32(state) === 0) throw new SocksError("failed", "gss_wrap could not encrypt");
        return token;
      },
      unwrap(token): GssUnwrapped {
        const input = inputBuffer(token);
        const out = outputBuffer();
        const state = allocate(4);
        const major = native.call("gss_unwrap", [minorAt, u64(handle), input.at, out.at, native.address(state), 0n]);
        const data = out.take();
        // A replayed, duplicate or out-of-sequence token (supplementary bits) is refused like a forged one.
        if (major !== GSS_S_COMPLETE) throw failed("gss_unwrap", major, u32(minor));
        return { data, confidential: u32(state) !== 0 };
      },
      release() {
        if (released) return;
        released = true;
        if (u64(handle) !== 0n) native.call("gss_delete_sec_context", [minorAt, native.address(handle), 0n]);
        releaseName(peer);
        if (target !== undefined) {
          const cell = allocate(8);
          new DataView(cell.buffer).setBigUint64(0, target, true);
          releaseName(cell);
        }
      },
    };
  };

  return {
    checkAcceptor(keytab) {
      if (keytab !== undefined) {
        const path = new TextEncoder().encode(`${keytab}\0`);
        const bytes = allocate(path.length);
        bytes.set(path);
        pin(bytes);
        const code = native.call("krb5_gss_register_acceptor_identity", [native.address(bytes)]);
        if (code !== 0) throw new SocksError("bad-field", `GSS-API: keytab ${keytab} not accepted (error ${code})`);
      }
      const cred = allocate(8);
      const major = native.call("gss_acquire_cred", [
        minorAt,
        0n,
        GSS_C_INDEFINITE,
        0n,
        BigInt(GSS_C_ACCEPT),
        native.address(cred),
        0n,
        0n,
      ]);
      if ((major & 0xffff0000) !== 0) {
        const error = failed("acquiring the acceptor's credentials (the keytab)", major, u32(minor));
        throw new SocksError("bad-field", error.message);
      }
      native.call("gss_release_cred", [minorAt, native.address(cred)]);
    },
    acceptor: () => context("acceptor"),
    initiator(service, host) {
      const name = inputBuffer(new TextEncoder().encode(`${service}@${host}`));
      const cell = allocate(8);
      check(
        "gss_import_name",
        native.call("gss_import_name", [minorAt, name.at, native.address(constants[0]), native.address(cell)]),
      );
      return context("initiator", u64(cell));
    },
  };
}
