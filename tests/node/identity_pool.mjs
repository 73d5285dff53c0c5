// aws-amplify v6 with a user pool and an identity pool, both served by the emulator
// (`userPoolEndpoint`, `identityPoolEndpoint`): guest credentials, then the signed-in user's
// credentials for the same identity, then a fresh sign-in that finds that identity again.
// Env: ENDPOINT, POOL_ID, CLIENT_ID, IDENTITY_POOL_ID, USERNAME, PASSWORD. Prints one JSON object.
import { Amplify } from "aws-amplify";
import { fetchAuthSession, signIn, signOut } from "aws-amplify/auth";

const env = process.env;
Amplify.configure({ Auth: { Cognito: {
  userPoolId: env.POOL_ID, userPoolClientId: env.CLIENT_ID, identityPoolId: env.IDENTITY_POOL_ID,
  allowGuestAccess: true, userPoolEndpoint: env.ENDPOINT, identityPoolEndpoint: env.ENDPOINT,
} } });

function credentials(session) {
  const c = session.credentials;
  return c && { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken,
                expiration: c.expiration ? new Date(c.expiration).toISOString() : null };
}

const out = {};
try {
  const guest = await fetchAuthSession();
  out.guest = { identityId: guest.identityId, signedIn: !!guest.tokens, credentials: credentials(guest) };

  const first = await signIn({ username: env.USERNAME, password: env.PASSWORD });
  out.signIn = first.isSignedIn;
  const authed = await fetchAuthSession();
  out.authenticated = { identityId: authed.identityId, signedIn: !!authed.tokens, credentials: credentials(authed) };

  await signOut();
  const again = await signIn({ username: env.USERNAME, password: env.PASSWORD });
  out.signInAgain = again.isSignedIn;
  const second = await fetchAuthSession();
  out.again = { identityId: second.identityId, credentials: credentials(second) };
  await signOut();
} catch (e) {
  out.error = { name: e.name, message: e.message, stack: String(e.stack) };
}
console.log(JSON.stringify(out));
