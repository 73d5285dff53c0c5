// A browser app on amazon-cognito-identity-js or Amplify v6, bundled by esbuild into one script
// (tests/test_client_libraries_browser.py). Both libraries keep their tokens in the page's own
// window.localStorage (their defaults in a browser): nothing here replaces the storage.
// The page's query names the library and the pool: ?lib=identity-js|amplify&pool=&client=&endpoint=
// Every action answers {value} or {error: {name, message}}, so the test sees the library's own error.
import { AuthenticationDetails, CognitoUser, CognitoUserPool } from "amazon-cognito-identity-js";
import { Amplify } from "aws-amplify";
import {
  fetchAuthSession, fetchDevices, getCurrentUser, rememberDevice, signIn, signOut,
} from "aws-amplify/auth";

const q = new URLSearchParams(window.location.search);
const config = { pool: q.get("pool"), client: q.get("client"), endpoint: q.get("endpoint") };

const promised = (fn) => new Promise((resolve, reject) => fn((e, r) => (e ? reject(e) : resolve(r))));
const handlers = (fn) => new Promise((resolve, reject) => fn({ onSuccess: resolve, onFailure: reject }));

// ---- amazon-cognito-identity-js: a CognitoUserPool without Storage uses window.localStorage
function identityJs() {
  const pool = new CognitoUserPool({ UserPoolId: config.pool, ClientId: config.client, endpoint: config.endpoint });
  const tokensOf = (session) => ({
    accessToken: session.getAccessToken().getJwtToken(),
    idToken: session.getIdToken().getJwtToken(),
    refreshToken: session.getRefreshToken().getToken(),
  });
  // the user of the session in localStorage, with its session loaded (refreshed when it expired)
  async function current() {
    const user = pool.getCurrentUser();
    if (!user) throw Object.assign(new Error("no current user"), { name: "NoCurrentUser" });
    const session = await promised((done) => user.getSession(done));
    return { user, session };
  }
  return {
    async signIn(username, password) {
      const user = new CognitoUser({ Username: username, Pool: pool });
      const details = new AuthenticationDetails({ Username: username, Password: password });
      const result = await new Promise((resolve, reject) => user.authenticateUser(details, {
        onSuccess: (session, userConfirmationNecessary) => resolve({ session, userConfirmationNecessary }),
        onFailure: reject,
        mfaRequired: () => reject(new Error("unexpected mfaRequired")),
        totpRequired: () => reject(new Error("unexpected totpRequired")),
        newPasswordRequired: () => reject(new Error("unexpected newPasswordRequired")),
      }));
      return { ...tokensOf(result.session), username: user.getUsername(),
               userConfirmationNecessary: result.userConfirmationNecessary ?? null };
    },
    // what the app does when it starts: the current user and getSession (refreshes when expired)
    async restore() {
      const { user, session } = await current();
      return { ...tokensOf(session), username: user.getUsername(), valid: session.isValid() };
    },
    async refresh() {
      const { user, session } = await current();
      const fresh = await promised((done) => user.refreshSession(session.getRefreshToken(), done));
      return tokensOf(fresh);
    },
    async rememberDevice() {
      const { user } = await current();
      user.getCachedDeviceKeyAndPassword();
      await handlers((h) => user.setDeviceStatusRemembered(h));
      return user.deviceKey;
    },
    async signOut() {
      const { user } = await current();
      user.signOut();
      return null;
    },
    async globalSignOut() {
      const { user } = await current();
      await handlers((h) => user.globalSignOut(h));
      return null;
    },
  };
}

// ---- Amplify v6: its default token storage in a browser is window.localStorage
function amplify() {
  Amplify.configure({ Auth: { Cognito: { userPoolId: config.pool, userPoolClientId: config.client,
                                         userPoolEndpoint: config.endpoint } } });
  async function tokens(options) {
    const session = await fetchAuthSession(options);
    if (!session.tokens) throw Object.assign(new Error("no tokens"), { name: "NoTokens" });
    const username = (await getCurrentUser()).username;
    return { accessToken: session.tokens.accessToken.toString(), idToken: session.tokens.idToken?.toString() ?? null,
             username };
  }
  return {
    async signIn(username, password) {
      const out = await signIn({ username, password });
      if (!out.isSignedIn) throw new Error(`not signed in: ${out.nextStep.signInStep}`);
      return tokens();
    },
    restore: () => tokens(),
    refresh: () => tokens({ forceRefresh: true }),
    async rememberDevice() {
      await rememberDevice();
      const devices = await fetchDevices();
      return devices.map((d) => d.id);
    },
    async signOut() {
      await signOut();
      return null;
    },
    async globalSignOut() {
      await signOut({ global: true });
      return null;
    },
  };
}

const lib = q.get("lib") === "amplify" ? amplify() : identityJs();

window.app = {};
for (const [name, fn] of Object.entries(lib)) {
  window.app[name] = async (...args) => {
    try {
      return { value: (await fn(...args)) ?? null };
    } catch (e) {
      return { error: { name: e.code || e.name, message: e.message } };
    }
  };
}
window.appReady = true;
