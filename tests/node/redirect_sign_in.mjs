// aws-amplify v6 signInWithRedirect (code grant, PKCE S256, state) against the emulator's managed login.
// Amplify builds https://{domain}/oauth2/...; the emulator serves plain HTTP at ENDPOINT, so fetch and the
// authorize URL are pointed there (scheme and host only). The pages are done by a real browser driven by
// the Python test: this script prints {"authorize": url}, reads the callback URL back on stdin, and lets
// Amplify finish the flow (state check, code exchange with its code_verifier, token storage).
// Then signOut, whose /logout URL is reported for the browser to visit.
// Env: ENDPOINT, POOL_ID, CLIENT_ID, DOMAIN, REDIRECT, PROVIDER (optional: Google, Facebook, Amazon,
// Apple), IDENTITY_POOL_ID (optional: the session's AWS credentials too). Prints one JSON object.
import { createInterface } from "node:readline";
import { Amplify } from "aws-amplify";
import { fetchAuthSession, fetchUserAttributes, getCurrentUser, signInWithRedirect, signOut } from "aws-amplify/auth";
import { err } from "./emulator.mjs";

const env = process.env;
const hosted = `https://${env.DOMAIN}`;
const local = (url) => (url.startsWith(hosted) ? env.ENDPOINT + url.slice(hosted.length) : url);
const realFetch = globalThis.fetch;
const seen = [];
globalThis.fetch = (input, init) => {
  const url = input instanceof Request ? input.url : String(input);
  if (!url.startsWith(hosted)) return realFetch(input, init);
  seen.push(new URL(url).pathname);
  return realFetch(input instanceof Request ? new Request(local(url), input) : local(url), init);
};
// The app page Amplify believes it runs on (the registered callback), without a DOM.
const app = new URL(env.REDIRECT);
globalThis.window = { location: { origin: app.origin, pathname: app.pathname, hostname: app.hostname },
                      addEventListener() {}, removeEventListener() {} };

Amplify.configure({ Auth: { Cognito: {
  userPoolId: env.POOL_ID, userPoolClientId: env.CLIENT_ID, userPoolEndpoint: env.ENDPOINT,
  ...(env.IDENTITY_POOL_ID ? { identityPoolId: env.IDENTITY_POOL_ID, identityPoolEndpoint: env.ENDPOINT } : {}),
  loginWith: { oauth: { domain: env.DOMAIN, scopes: ["openid", "email", "profile", "aws.cognito.signin.user.admin"],
                        redirectSignIn: [env.REDIRECT], redirectSignOut: [env.REDIRECT], responseType: "code" } },
} } });

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const out = {};
try {
  await signInWithRedirect({
    ...(env.PROVIDER ? { provider: env.PROVIDER } : {}),
    customState: "app-state",
    options: {
      authSessionOpener: async (url) => {
        out.authorize = url;
        console.log(JSON.stringify({ authorize: local(url) }));
        const { value } = await lines.next();
        return { type: "success", url: value.trim() };
      },
    },
  });
  const session = await fetchAuthSession();
  out.tokens = { idToken: session.tokens?.idToken?.toString(), accessToken: session.tokens?.accessToken?.toString() };
  if (env.IDENTITY_POOL_ID) {
    out.identityId = session.identityId;
    out.credentials = { accessKeyId: session.credentials?.accessKeyId, hasSecret: !!session.credentials?.secretAccessKey };
  }
  out.user = await getCurrentUser();
  out.attributes = await fetchUserAttributes();
  out.tokenCalls = [...seen];
  // signOut revokes the refresh token (RevokeToken) and sends the browser to /logout.
  await signOut();
  out.logout = local(globalThis.window.location.href ?? "");
  out.signedOut = (await fetchAuthSession()).tokens === undefined;
} catch (e) {
  out.error = err(e);
}
console.log(JSON.stringify(out));
process.exit(0);
