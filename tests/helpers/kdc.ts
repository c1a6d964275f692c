/**
 * A throwaway MIT Kerberos realm on loopback for GSS-API tests: a database in a temporary directory, a KDC on a
 * free port (`krb5kdc -n`), the service `rcmd/localhost` in a keytab, and a user `alice` with a ticket in a
 * temporary credential cache. Everything goes through KRB5_CONFIG, KRB5_KDC_PROFILE and KRB5CCNAME, which are set in
 * this process's environment (children inherit them).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { closedPort, waitForPort } from "./net.ts";
import { type Daemon, daemon, run } from "./process.ts";
import { requirePeer } from "./peers.ts";

/** A running realm. */
export interface Realm {
  readonly name: string;
  readonly dir: string;
  /** The keytab holding rcmd/localhost's current key. */
  readonly keytab: string;
  /** A keytab holding an older key of rcmd/localhost: tickets issued now do not open with it. */
  readonly staleKeytab: string;
  /** A credential cache with alice's ticket-granting ticket. */
  readonly ccache: string;
  /** A credential cache with no ticket. */
  readonly emptyCcache: string;
  stop(): Promise<void>;
}

async function must(command: string, args: string[], input?: string): Promise<void> {
  const result = await run(command, args, { input: input ? new TextEncoder().encode(input) : undefined });
  if (result.code !== 0) throw new Error(`${command} ${args.join(" ")} failed (${result.code}): ${result.stderr}`);
}

/** Creates the realm and starts its KDC; the environment points at it until `stop()`. */
export async function startRealm(): Promise<Realm> {
  const [kdb5Util, kadminLocal, krb5kdc, kinit] = ["kdb5_util", "kadmin.local", "krb5kdc", "kinit"].map(requirePeer);
  const name = "TEST.REALM";
  const dir = mkdtempSync(join(tmpdir(), "tabi-krb5-"));
  const port = await closedPort();
  writeFileSync(
    join(dir, "krb5.conf"),
    `[libdefaults]
  default_realm = ${name}
  dns_canonicalize_hostname = false
  rdns = false
  dns_lookup_kdc = false
  dns_lookup_realm = false
  udp_preference_limit = 1
[realms]
  ${name} = {
    kdc = 127.0.0.1:${port}
  }
[domain_realm]
  localhost = ${name}
`,
  );
  writeFileSync(
    join(dir, "kdc.conf"),
    `[kdcdefaults]
  kdc_ports = ${port}
  kdc_tcp_ports = ${port}
[realms]
  ${name} = {
    database_name = ${join(dir, "principal")}
    key_stash_file = ${join(dir, "stash")}
    acl_file = ${join(dir, "kadm5.acl")}
  }
[logging]
  kdc = FILE:${join(dir, "kdc.log")}
`,
  );
  const saved = {
    KRB5_CONFIG: process.env.KRB5_CONFIG,
    KRB5_KDC_PROFILE: process.env.KRB5_KDC_PROFILE,
    KRB5CCNAME: process.env.KRB5CCNAME,
  };
  process.env.KRB5_CONFIG = join(dir, "krb5.conf");
  process.env.KRB5_KDC_PROFILE = join(dir, "kdc.conf");
  const ccache = `FILE:${join(dir, "alice.cc")}`;
  process.env.KRB5CCNAME = ccache;
  let kdc: Daemon | undefined;
  try {
    await must(kdb5Util, ["create", "-s", "-P", "master-pw", "-r", name]);
    await must(kadminLocal, ["-q", "addprinc -pw alice-pw alice"]);
    await must(kadminLocal, ["-q", "addprinc -randkey rcmd/localhost"]);
    // The stale keytab first: the second ktadd gives the service a new key, which only `keytab` holds.
    await must(kadminLocal, ["-q", `ktadd -k ${join(dir, "stale.keytab")} rcmd/localhost`]);
    await must(kadminLocal, ["-q", `ktadd -k ${join(dir, "rcmd.keytab")} rcmd/localhost`]);
    kdc = daemon(krb5kdc, ["-n"]);
    await waitForPort(port, "krb5kdc");
    await must(kinit, ["alice"], "alice-pw\n");
  } catch (error) {
    await kdc?.stop();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    name,
    dir,
    keytab: join(dir, "rcmd.keytab"),
    staleKeytab: join(dir, "stale.keytab"),
    ccache,
    emptyCcache: `FILE:${join(dir, "nobody.cc")}`,
    async stop() {
      await kdc?.stop();
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
