// aws-amplify v6 sign-up with automatic sign-in: signUp({options: {autoSignIn}}) -> confirmSignUp
// with the code from the outbox -> autoSignIn(). MODE=srp uses `autoSignIn: true` (SRP with the
// password); MODE=user_auth uses `autoSignIn: {authFlowType: "USER_AUTH"}` without a password, so
// the sign-in rests on the Session ConfirmSignUp answered.
// Env: ENDPOINT, POOL_ID, CLIENT_ID, USERNAME, PASSWORD (srp only), EMAIL, MODE. Prints one JSON object.
import { Amplify } from "aws-amplify";
import { autoSignIn, confirmSignUp, fetchAuthSession, getCurrentUser, signOut, signUp } from "aws-amplify/auth";
import { err, outboxCode } from "./emulator.mjs";

const env = process.env;
Amplify.configure({ Auth: { Cognito: { userPoolId: env.POOL_ID, userPoolClientId: env.CLIENT_ID,
                                       userPoolEndpoint: env.ENDPOINT } } });

const out = {};
try {
  const userAuth = env.MODE === "user_auth";
  const input = { username: env.USERNAME,
                  options: { userAttributes: { email: env.EMAIL },
                             autoSignIn: userAuth ? { authFlowType: "USER_AUTH" } : true } };
  if (!userAuth) input.password = env.PASSWORD;
  const up = await signUp(input);
  out.signUp = { isSignUpComplete: up.isSignUpComplete, nextStep: up.nextStep.signUpStep };
  const code = await outboxCode(env.ENDPOINT, env.POOL_ID);
  const confirmed = await confirmSignUp({ username: env.USERNAME, confirmationCode: code });
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
