// aws-amplify v6 sign-up with automatic sign-in: signUp({options: {autoSignIn}}) -> confirmSignUp
// with the code from the outbox -> autoSignIn(). MODE=srp uses `autoSignIn: true` (SRP with the
// password); MODE=user_auth uses `autoSignIn: {authFlowType: "USER_AUTH"}` without a password, so
// the sign-in rests on the Session ConfirmSignUp answered.
// Env: ENDPOINT, POOL_ID, CLIENT_ID, USERNAME, PASSWORD (srp only), EMAIL, MODE. Prints one JSON object.
import { Amplify } from "aws-amplify";
import { autoSignIn, confirmSignUp, fetchAuthSession, getCurrentUser, signOut, signUp } from "aws-amplify/auth";

const env = process.env;
Amplify.configure({ Auth: { Cognito: { userPoolId: env.POOL_ID, userPoolClientId: env.CLIENT_ID,
                                       userPoolEndpoint: env.ENDPOINT } } });

async function outboxCode() {
  const q = new URLSearchParams({ pool_id: env.POOL_ID, limit: "1" });
  const r = await fetch(`${env.ENDPOINT}/_emulator/messages?${q}`);
  const found = (await r.json()).messages;
  return found.length ? found[0].code : null;
}

const err = (e) => ({ name: e.name, message: e.message });
const out = {};
try {
  const userAuth = env.MODE === "user_auth";
  const input = { username: env.USERNAME,
                  options: { userAttributes: { email: env.EMAIL },
                             autoSignIn: userAuth ? { authFlowType: "USER_AUTH" } : true } };
  if (!userAuth) input.password = env.PASSWORD;
  const up = await signUp(input);
  out.signUp = { isSignUpComplete: up.isSignUpComplete, nextStep: up.nextStep.signUpStep };
  const confirmed = await confirmSignUp({ username: env.USERNAME, confirmationCode: await outboxCode() });
  out.confirmSignUp = { isSignUpComplete: confirmed.isSignUpComplete, nextStep: confirmed.nextStep.signUpStep };
  const signedIn = await autoSignIn();
  out.autoSignIn = { isSignedIn: signedIn.isSignedIn, nextStep: signedIn.nextStep.signInStep };
  out.currentUser = (await getCurrentUser()).username;
  const session = await fetchAuthSession();
  const access = session.tokens?.accessToken?.payload ?? {};
  const id = session.tokens?.idToken?.payload ?? {};
  out.session = { tokenUse: access.token_use, username: access.username, email: id.email };
  await signOut();
} catch (e) {
  out.error = err(e);
  out.stack = String(e.stack || "");
}
console.log(JSON.stringify(out));
// Amplify keeps a 3-minute auto sign-in timer running after success: end the process now.
process.exit(0);
