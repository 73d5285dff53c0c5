// amazon-cognito-identity-js or Amplify v6 in Node with the storage each really uses there, through the
// life of a session: SRP sign-in, restore from storage, refresh after the access token expired (an hour
// later on the emulator's clock and on this process's), remembered device, global sign-out.
// Run by tests/test_node_storage.py, which records the wire through a proxy at ENDPOINT.
// Env: LIB (identity-js | amplify), STORAGE (default | local-storage-like | shared-in-memory),
//      SCENARIO (session | device), ENDPOINT (the proxy), EMULATOR (the emulator itself, for its clock),
//      POOL_ID, CLIENT_ID, USERNAME, PASSWORD. Prints one JSON object.
import pkg from "amazon-cognito-identity-js";
import { Amplify } from "aws-amplify";
import {
  fetchAuthSession, fetchDevices, getCurrentUser, rememberDevice, signIn, signOut,
} from "aws-amplify/auth";
import { cognitoUserPoolsTokenProvider } from "aws-amplify/auth/cognito";
import { sharedInMemoryStorage } from "aws-amplify/utils";
import { err } from "./emulator.mjs";

const { AuthenticationDetails, CognitoUser, CognitoUserPool } = pkg;
const env = process.env;
const MISSING = "no.such.key";

// This process's clock, moved with the emulator's (the libraries decide expiry by Date).
const RealDate = Date;
let shiftMs = 0;
class ShiftedDate extends RealDate {
  constructor(...args) { if (args.length) super(...args); else super(RealDate.now() + shiftMs); }
  static now() { return RealDate.now() + shiftMs; }
}
globalThis.Date = ShiftedDate;

async function later(seconds) {
  const r = await fetch(`${env.EMULATOR}/_emulator/clock`, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ advance_seconds: seconds }) });
  if (!r.ok) throw new Error(`clock: ${r.status}`);
  shiftMs += seconds * 1000;
}

// What a browser's window.localStorage is (Web Storage): strings in, null for a missing key.
class LocalStorageLike {
  constructor() { this.items = new Map(); }
  get length() { return this.items.size; }
  key(i) { return [...this.items.keys()][i] ?? null; }
  getItem(k) { return this.items.has(k) ? this.items.get(k) : null; }
  setItem(k, v) { this.items.set(k, String(v)); }
  removeItem(k) { this.items.delete(k); }
  clear() { this.items.clear(); }
}

// Amplify names a new device after navigator.userAgent, which Node has from version 21 on; on Node 20
// its ConfirmDevice would fail (silently: Amplify then tracks no device), so give it what Node 21 has.
if (typeof globalThis.navigator === "undefined") {
  globalThis.navigator = { userAgent: `Node.js/${process.versions.node.split(".")[0]}` };
}

const promised = (fn) => new Promise((resolve, reject) => fn((e, r) => (e ? reject(e) : resolve(r))));
const handlers = (fn) => new Promise((resolve, reject) => fn({ onSuccess: resolve, onFailure: reject }));
const shown = (v) => (v === undefined ? "undefined" : JSON.stringify(v));

function identityJs() {
  // No Storage option: the library's own choice (in Node its in-memory MemoryStorage)
  const storage = env.STORAGE === "local-storage-like" ? new LocalStorageLike() : undefined;
  // a new pool object per "start of the app", reading what the previous one stored
  const newPool = () => new CognitoUserPool({ UserPoolId: env.POOL_ID, ClientId: env.CLIENT_ID,
                                              endpoint: env.ENDPOINT, ...(storage ? { Storage: storage } : {}) });
  let pool = newPool();
  const tokensOf = (s) => ({ accessToken: s.getAccessToken().getJwtToken(), idToken: s.getIdToken().getJwtToken(),
                             refreshToken: s.getRefreshToken().getToken() });
  async function current() {
    const user = pool.getCurrentUser();
    if (!user) throw Object.assign(new Error("no current user"), { name: "NoCurrentUser" });
    return { user, session: await promised((done) => user.getSession(done)) };
  }
  return {
    missingKey: () => shown(pool.storage.getItem(MISSING)),
    stored: (item) => pool.storage.getItem(`CognitoIdentityServiceProvider.${env.CLIENT_ID}.${env.USERNAME}.${item}`) ?? null,
    restart() { pool = newPool(); },
    async signIn() {
      const user = new CognitoUser({ Username: env.USERNAME, Pool: pool, ...(storage ? { Storage: storage } : {}) });
      const details = new AuthenticationDetails({ Username: env.USERNAME, Password: env.PASSWORD });
      const session = await new Promise((resolve, reject) => user.authenticateUser(details, {
        onSuccess: resolve, onFailure: reject,
        newPasswordRequired: () => reject(new Error("unexpected newPasswordRequired")),
      }));
      return tokensOf(session);
    },
    async restore() {
      const { user, session } = await current();
      return { ...tokensOf(session), username: user.getUsername() };
    },
    async refresh() {
      const { user, session } = await current();
      return tokensOf(await promised((done) => user.refreshSession(session.getRefreshToken(), done)));
    },
    async rememberDevice() {
      const { user } = await current();
      user.getCachedDeviceKeyAndPassword();
      await handlers((h) => user.setDeviceStatusRemembered(h));
      return [user.deviceKey];
    },
    async signOut() { (await current()).user.signOut(); },
    async globalSignOut() { const { user } = await current(); await handlers((h) => user.globalSignOut(h)); },
    async getUser(accessToken) {
      return promised((done) => pool.client.request("GetUser", { AccessToken: accessToken }, done));
    },
  };
}

function amplify() {
  // what the app does when it starts; default: Amplify's defaultStorage, which in Node (no
  // window.localStorage) is an InMemoryStorage; else the storage is set after configure, as documented
  function configure() {
    Amplify.configure({ Auth: { Cognito: { userPoolId: env.POOL_ID, userPoolClientId: env.CLIENT_ID,
                                           userPoolEndpoint: env.ENDPOINT } } });
    if (env.STORAGE === "shared-in-memory") cognitoUserPoolsTokenProvider.setKeyValueStorage(sharedInMemoryStorage);
  }
  configure();
  const storage = env.STORAGE === "shared-in-memory" ? sharedInMemoryStorage
    : cognitoUserPoolsTokenProvider.authTokenStore.getKeyValueStorage();
  async function tokens(options) {
    const session = await fetchAuthSession(options);
    if (!session.tokens) throw Object.assign(new Error("no tokens"), { name: "NoTokens" });
    return { accessToken: session.tokens.accessToken.toString(), idToken: session.tokens.idToken?.toString() ?? null,
             username: (await getCurrentUser()).username };
  }
  return {
    missingKey: async () => shown(await storage.getItem(MISSING)),
    stored: async (item) =>
      (await storage.getItem(`CognitoIdentityServiceProvider.${env.CLIENT_ID}.${env.USERNAME}.${item}`)) ?? null,
    restart: configure,
    async signIn() {
      const out = await signIn({ username: env.USERNAME, password: env.PASSWORD });
      if (!out.isSignedIn) throw new Error(`not signed in: ${out.nextStep.signInStep}`);
      return tokens();
    },
    restore: () => tokens(),
    refresh: () => tokens({ forceRefresh: true }),
    async rememberDevice() { await rememberDevice(); return (await fetchDevices()).map((d) => d.id); },
    signOut: () => signOut(),
    globalSignOut: () => signOut({ global: true }),
    getUser: null,
  };
}

const lib = env.LIB === "amplify" ? amplify() : identityJs();
const out = {};
const step = async (name, fn) => {
  try {
    out[name] = (await fn()) ?? null;
  } catch (e) {
    out[name] = { error: err(e) };
  }
  return out[name];
};
try {
  out.missingKey = await lib.missingKey();
  if (env.SCENARIO === "session") {
    const first = await step("signIn", () => lib.signIn());
    out.refreshToken = await lib.stored("refreshToken");
    out.deviceKeyStored = await lib.stored("deviceKey");
    lib.restart();
    await step("restore", () => lib.restore());
    await later(3700);
    if (lib.getUser) await step("expiredGetUser", () => lib.getUser(first.accessToken));
    lib.restart();
    await step("autoRefresh", () => lib.restore());
    await step("refresh", () => lib.refresh());
    const last = out.refresh.accessToken;
    await step("globalSignOut", () => lib.globalSignOut());
    if (lib.getUser) await step("afterGlobalSignOut", () => lib.getUser(last));
    out.storedAfterSignOut = await lib.stored("accessToken");
  } else {
    await step("signIn", () => lib.signIn());
    out.deviceKeyStored = await lib.stored("deviceKey");
    await step("rememberDevice", () => lib.rememberDevice());
    await step("signOut", () => lib.signOut());
    out.deviceKeyAfterSignOut = await lib.stored("deviceKey");
    await later(120);
    lib.restart();
    await step("secondSignIn", () => lib.signIn());
  }
} catch (e) {
  out.error = err(e);
  out.stack = String(e.stack || "");
}
console.log(JSON.stringify(out));
