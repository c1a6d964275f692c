/**
 * The GSS-API flags of `tabi serve` and `tabi connect` (RFC 1961, Kerberos through the system's MIT library),
 * turned into the server's authenticators and the client's options. Loading the library happens here, at the edge,
 * so a missing library stops the command at start with a message that says what to install.
 *
 * @module
 */
import type { GssApiClientOptions } from "../lib/client/gssapi_negotiate.ts";
import { loadGssApi } from "../lib/runtime/load_gssapi.ts";
import { type Authenticator, userPassAuthenticator, type UserTable } from "../lib/server/auth.ts";
import { GSSAPI_PROTECTION_NAMES, gssApiAuthenticator, type GssApiProtectionName } from "../lib/server/gssapi_auth.ts";
import type { Kind } from "./setting_kinds.ts";
import { UsageError } from "./usage_error.ts";

/** The flags, as parseArgs reads them. */
export interface GssApiFlags {
  gssapi?: boolean;
  "gssapi-keytab"?: string;
  "gssapi-service"?: string;
  "gssapi-protection"?: string;
  "gssapi-nec"?: boolean;
}

/** The parseArgs table of the flags. */
export const GSSAPI_OPTIONS = {
  gssapi: { type: "boolean" },
  "gssapi-keytab": { type: "string" },
  "gssapi-service": { type: "string" },
  "gssapi-protection": { type: "string" },
  "gssapi-nec": { type: "boolean" },
} as const;

/** A non-empty string flag (the service name). */
const NAME_KIND = {
  option: { type: "string" },
  arg: "NAME",
  expected: "a name",
  fromFlag: (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined),
  fromJson: (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined),
  show: String,
} as const;

/** True when `v` names a protection level. */
function isProtectionName(v: unknown): v is GssApiProtectionName {
  return typeof v === "string" && v in GSSAPI_PROTECTION_NAMES;
}

/** A protection level's name, as `--gssapi-protection` takes it. */
const PROTECTION_KIND: Kind<GssApiProtectionName> = {
  option: { type: "string" },
  arg: "LEVEL",
  expected: "none, integrity or confidentiality",
  fromFlag: (v: unknown) => (isProtectionName(v) ? v : undefined),
  fromJson: (v: unknown) => (isProtectionName(v) ? v : undefined),
  show: String,
};

/** What `tabi serve`'s GSS-API rows of the settings table (serve_settings.ts) add up to. */
export interface GssApiSettings {
  /** `--gssapi`. */
  readonly enabled?: boolean;
  /** `--gssapi-keytab`. */
  readonly keytab?: string;
  /** `--gssapi-service` (default rcmd). */
  readonly service?: string;
  /** `--gssapi-protection` (default confidentiality). */
  readonly protection?: GssApiProtectionName;
  /** The GSS-API flags given on the command line besides `--gssapi`: each of them needs it. */
  readonly given?: readonly string[];
}

/** The kinds of the GSS-API rows of `tabi serve`'s settings table (serve_settings.ts). */
export const GSSAPI_KINDS = { name: NAME_KIND, protection: PROTECTION_KIND } as const;

/** The help lines of `tabi connect`'s GSS-API flags. */
export const CONNECT_GSSAPI_HELP: string =
  `  --gssapi             authenticate with GSS-API (RFC 1961, Kerberos) from the credential cache (KRB5CCNAME)
  --gssapi-service NAME  the proxy's service (default rcmd): a ticket for NAME@<proxy host>
  --gssapi-protection L  none, integrity or confidentiality (default): what to ask the proxy for
  --gssapi-nec          NEC's variant: the protection level travels unwrapped (curl's --socks5-gssapi-nec)
`;

function protection(flags: GssApiFlags): GssApiProtectionName | undefined {
  const name = flags["gssapi-protection"];
  if (name === undefined) return undefined;
  if (!isProtectionName(name)) {
    throw new UsageError(`--gssapi-protection: "${name}" is none of none, integrity, confidentiality`);
  }
  return name;
}

function needsGssapi(flags: GssApiFlags): void {
  const stray = (["gssapi-keytab", "gssapi-service", "gssapi-protection", "gssapi-nec"] as const)
    .find((flag) => flags[flag] !== undefined);
  if (stray && !flags.gssapi) throw new UsageError(`--${stray} needs --gssapi`);
}

/**
 * The server's SOCKS5 methods with `--gssapi`: GSS-API first, then username/password when there are users (no
 * anonymous method). Undefined without `--gssapi`. Rejects with a SocksError when the library or keytab fails.
 */
export async function serveGssApiAuthenticators(
  settings: GssApiSettings,
  users: UserTable | undefined,
): Promise<Authenticator[] | undefined> {
  const stray = settings.given?.[0];
  if (!settings.enabled) {
    if (stray !== undefined) throw new UsageError(`--${stray} needs --gssapi`);
    return undefined;
  }
  const gss = await loadGssApi();
  gss.checkAcceptor(settings.keytab);
  const { service, protection } = settings;
  const methods: Authenticator[] = [gssApiAuthenticator({ gss, service, protection })];
  if (users && users.size > 0) methods.push(userPassAuthenticator(users));
  return methods;
}

/** The client's GSS-API options with `--gssapi`; undefined without it. */
export async function connectGssApiOptions(flags: GssApiFlags): Promise<GssApiClientOptions | undefined> {
  needsGssapi(flags);
  if (flags["gssapi-keytab"] !== undefined) throw new UsageError("--gssapi-keytab is a serve flag");
  if (!flags.gssapi) return undefined;
  const level = protection(flags);
  return {
    gss: await loadGssApi(),
    service: flags["gssapi-service"],
    protection: level === undefined ? undefined : GSSAPI_PROTECTION_NAMES[level],
    nec: flags["gssapi-nec"],
  };
}
